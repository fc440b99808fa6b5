import Locking
import MediaTypes

/// Utterances whose speech has ended, waiting for the engine's `run()` to finish them one at
/// a time, in the order they ended (so their events leave in order).
///
/// A plain queue rather than an `AsyncStream`: when `run()` stops early (cancelled at
/// shutdown), what is left must be counted and every barrier released, never silently lost.
final class FinishQueue: Sendable {
    /// An ended utterance and what its event needs.
    struct Utterance: Sendable {
        /// The speech-feature encoder of the utterance (nil without a speech stage).
        let encoding: (any UtteranceEncoding)?
        /// The utterance's speech, for the speech-emotion stage (nil without one).
        let speech: [Float]?
        /// The sound's bands from `ActiveSpeaker.leadSeconds` before the utterance to its end,
        /// to tell which face spoke (nil without a face stage).
        let bands: ActiveSpeaker.SpeechBands?
        let rest: [Float]
        let start: MediaTime
        let end: MediaTime
        /// When the segmenter confirmed the end (offline latency runs from here).
        let detected: MediaTime
        /// What the segmenter's visual gate saw of the lips in view while it was spoken.
        var lips: LipActivity? = nil
    }

    enum Work: Sendable {
        case utterance(Utterance)
        /// Resumed once everything queued before it is done (or dropped).
        case barrier(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var items: [Work] = []
        var waiter: CheckedContinuation<Work?, Never>?
        var closed = false
    }

    private let state = Locked(State())

    /// Queues `work`; false once the queue is closed (then nothing will run it).
    @discardableResult
    func enqueue(_ work: Work) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Work?, Never>?) in
            guard !state.closed else { return (false, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            state.items.append(work)
            return (true, nil)
        }
        waiter?.resume(returning: work)
        return accepted
    }

    /// Returns once everything queued before now is done, dropped, or the queue is closed.
    func barrier() async {
        await withCheckedContinuation { continuation in
            if !enqueue(.barrier(continuation)) { continuation.resume() }
        }
    }

    /// The next work, or nil once the queue is closed and empty, or the task is cancelled.
    func next() async -> Work? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Work?, Never>) in
                let ready = state.withLock { state -> Work?? in
                    if !state.items.isEmpty { return .some(state.items.removeFirst()) }
                    if state.closed || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume(returning: nil)
        }
    }

    /// No more work will be queued; `next` returns what is left, then nil.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Work?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Closes the queue and takes what was left in it (after `run()` stopped early).
    func drain() -> [Work] {
        state.withLock { state in
            state.closed = true
            defer { state.items.removeAll() }
            return state.items
        }
    }

    /// Utterances waiting.
    var pendingUtterances: Int {
        state.withLock { state in
            state.items.reduce(0) { count, work in
                if case .utterance = work { return count + 1 }
                return count
            }
        }
    }
}
