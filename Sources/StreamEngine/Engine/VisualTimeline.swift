import Locking
import Foundation

/// What the face pipeline saw, frame by frame, for the audio side to average over an
/// utterance's span: analysed frames on the media clock, kept for the last minute.
final class VisualTimeline: Sendable {
    struct Entry: Sendable {
        /// Media-clock seconds of the frame.
        let time: Double
        let faces: Int
        /// Embedding per feature name (`MX`, `RF`, `MR`); empty when no usable face.
        let encodings: [String: [Float]]
        /// The first encoder's probabilities and labels, for the visual-only estimate.
        let probabilities: [Float]?
        let labels: [String]
        /// The face box [x, y, w, h] in pixels.
        let box: [Int]?
        /// The first encoder's valence and arousal on [-5, 5], when it gives them.
        var valence: Float? = nil
        var arousal: Float? = nil
        /// Every tracked face of the frame (the primary first).
        var tracks: [FrameFaces.Track] = []
    }

    /// A followed face's mouth in a frame between analysed ones (`FaceSession.followMouths`).
    struct Mouth: Sendable {
        let time: Double
        let track: Int
        let opening: MouthOpening
    }

    struct Summary: Sendable {
        var means: [String: [Float]] = [:]
        var faceFrames = 0
        var missingFrames = 0
    }

    private struct State {
        var entries: [Entry] = []
        var mouths: [Mouth] = []
        /// Media time up to which the video has been looked at (analysed or skipped).
        var processedUntil = -Double.infinity
        var active = false
        var waiters: [(id: Int, until: Double, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
    }

    private let state = Locked(State())
    /// Seconds of history kept.
    private let retention = 60.0

    /// A video source started (true) or ended (false). Ending wakes every waiter: nothing
    /// more will come.
    func setActive(_ active: Bool) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.active = active
            guard !active else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        woken.forEach { $0.resume() }
    }

    var isActive: Bool { state.withLock { $0.active } }

    func append(_ entry: Entry) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.entries.append(entry)
            if let first = state.entries.first, entry.time - first.time > retention {
                state.entries.removeAll { entry.time - $0.time > retention }
            }
            return Self.advance(&state, to: entry.time)
        }
        woken.forEach { $0.resume() }
    }

    /// The video reached `time` without analysing that frame (sampling skipped it), where
    /// the followed faces' mouths were `mouths` (track id → opening).
    func passed(_ time: Double, mouths: [Int: MouthOpening] = [:]) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if !mouths.isEmpty {
                state.mouths += mouths.sorted { $0.key < $1.key }.map { Mouth(time: time, track: $0.key, opening: $0.value) }
                if let first = state.mouths.first, time - first.time > retention {
                    state.mouths.removeAll { time - $0.time > retention }
                }
            }
            return Self.advance(&state, to: time)
        }
        woken.forEach { $0.resume() }
    }

    private static func advance(_ state: inout State, to time: Double) -> [CheckedContinuation<Void, Never>] {
        state.processedUntil = max(state.processedUntil, time)
        let ready = state.waiters.filter { $0.until <= state.processedUntil }
        state.waiters.removeAll { $0.until <= state.processedUntil }
        return ready.map(\.continuation)
    }

    /// Returns once the video has been looked at up to `time`, the video is not running, or
    /// `timeout` has passed (live: an utterance does not wait long for a lagging camera).
    func wait(until time: Double, timeout: Duration?) async {
        let id = state.withLock { state -> Int? in
            guard state.active, state.processedUntil < time else { return nil }
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let immediate = self.state.withLock { state -> Bool in
                        guard state.active, state.processedUntil < time else { return true }
                        state.waiters.append((id, time, continuation))
                        return false
                    }
                    if immediate { continuation.resume() }
                }
            }
            if let timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                        guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.waiters.remove(at: index).continuation
                    }
                    continuation?.resume()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Means of each embedding over `frames`, and the frame counts.
    static func summary(of frames: [Entry]) -> Summary {
        var mean = Summary()
        var sums: [String: [Double]] = [:]
        for frame in frames {
            guard !frame.encodings.isEmpty else {
                mean.missingFrames += 1
                continue
            }
            mean.faceFrames += 1
            for (name, values) in frame.encodings {
                var sum = sums[name] ?? [Double](repeating: 0, count: values.count)
                for (i, v) in values.enumerated() { sum[i] += Double(v) }
                sums[name] = sum
            }
        }
        if mean.faceFrames > 0 { mean.means = sums.mapValues { $0.map { Float($0 / Double(mean.faceFrames)) } } }
        return mean
    }

    /// The frames in [start, end].
    func entries(from start: Double, to end: Double) -> [Entry] {
        state.withLock { $0.entries.filter { $0.time >= start && $0.time <= end } }
    }

    /// Every face's inner lips seen after `time` (analysed frames and those between), in
    /// time order: what the segmenter's visual gate reads (`VisualGate`).
    func lips(after time: Double) -> [(time: Double, track: Int, gap: Double)] {
        state.withLock { state in
            var lips: [(time: Double, track: Int, gap: Double)] = []
            for entry in state.entries.reversed() {
                guard entry.time > time else { break }
                for track in entry.tracks { if let mouth = track.mouth { lips.append((entry.time, track.id, mouth.inner)) } }
            }
            for mouth in state.mouths.reversed() {
                guard mouth.time > time else { break }
                lips.append((mouth.time, mouth.track, mouth.opening.inner))
            }
            return lips.sorted { $0.time < $1.time }
        }
    }

    /// The mouths followed between analysed frames in [start, end].
    func mouths(from start: Double, to end: Double) -> [Mouth] {
        state.withLock { $0.mouths.filter { $0.time >= start && $0.time <= end } }
    }
}
