import Locking

/// How far a loop has processed its stream on the media clock, for another loop to wait on.
/// Offline, the video loop waits on the audio's progress before it decides whether a `face`
/// event falls between utterances, so that the events of a recording do not depend on which
/// loop the scheduler happened to run ahead.
final class MediaProgress: Sendable {
    private struct State {
        var active = false
        var reached = -Double.infinity
        var waiters: [(until: Double, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Locked(State())

    /// The stream started: waiters wait from now on.
    func start() {
        state.withLock { state in
            state.active = true
            state.reached = -.infinity
        }
    }

    /// The stream has been processed up to `seconds`.
    func advance(to seconds: Double) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.reached = max(state.reached, seconds)
            let ready = state.waiters.filter { $0.until <= state.reached }
            state.waiters.removeAll { $0.until <= state.reached }
            return ready.map(\.continuation)
        }
        ready.forEach { $0.resume() }
    }

    /// The stream ended: nothing more will come, every waiter goes on.
    func end() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.active = false
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        waiting.forEach { $0.resume() }
    }

    /// Returns once the stream reached `seconds`, or is not running.
    func wait(until seconds: Double) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard state.active, state.reached < seconds else { return true }
                state.waiters.append((seconds, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}
