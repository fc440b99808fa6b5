/// One face's mouth at one moment, as the segmenter is told it: the inner lips' gap over the
/// eye distance (`MouthOpening.inner`), at a sample of the audio stream.
public struct LipObservation: Sendable, Equatable {
    /// The stream's sample at the frame's time (the segmenter's clock).
    public var sample: Int
    public var track: Int
    public var gap: Double

    public init(sample: Int, track: Int, gap: Double) {
        self.sample = sample
        self.track = track
        self.gap = gap
    }
}

/// What the visible lips showed over the last window.
public enum LipActivity: Sendable, Equatable {
    /// At least one visible face moved its lips.
    case moving
    /// Faces were in view and none moved its lips.
    case still
}

/// The segmenter's visual gate: from the mouths in view, where the subject's speech and a
/// background talker's meet while the voice goes on. One microphone cannot tell two voices
/// apart (docs/noise.md: a talker 5 dB below the subject merges the subject's utterances
/// through the pauses between them), but the subject's lips show the pauses: speech while
/// every visible mouth is still is someone else's.
///
/// Each detector frame, the gate reads the lips over the last `window` (RMS of the inner gap's
/// change, per face; moving when any face reaches `threshold`) and keeps a label for the open
/// stretch of speech. When the other state lasts long enough (`stillAfter`, `movingAfter`)
/// the segmenter splits the utterance where the change began: a subject who stops while a
/// background voice goes on, or starts during one. Both pieces stay utterances (the
/// background one is for the active speaker to call unseen, and
/// `engine.require_visible_speaker` to drop).
///
/// Chosen on GRID's seven talking faces, followed as the engine follows them
/// (`VisualGateOnGRIDTests`): with 0.3-s windows and a threshold of 0.3 eye distances per
/// second, windows wholly inside speech read still for at most 0.08 s in a row, and 97 of 100
/// windows in the silence after speech read still (at 0.1, 29: the landmarks' jitter reads as
/// movement). A split waits for `stillAfter` (0.24 s) of stillness on top of the window, three
/// times the longest stretch seen inside speech.
///
/// The gate moves `speechEnd` back by `holdSamples` while it sees lips: a split lands at most
/// that far behind the newest lips, and every sample before `speechEnd` must stay in the
/// utterance. By the time a pause has lasted the hangover, the hold has passed the speech's
/// end, so a normal end costs nothing.
public struct VisualGate: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Lips over this span decide moving or still.
        public var windowMilliseconds = 300
        /// RMS of the inner gap's change, eye distances per second, below which a face's lips
        /// are still.
        public var threshold = 0.3
        /// Stillness this long (after the window) while the voice goes on splits the subject's
        /// speech from a background talker's.
        public var stillAfterMilliseconds = 240
        /// Movement this long during a background voice splits the subject's start off it.
        public var movingAfterMilliseconds = 120
        /// Lips part this long before the sound they make: a start is placed this early.
        public var leadMilliseconds = 100
        /// A voice outlasts the lips' last movement by about this: an end is placed this late.
        public var trailMilliseconds = 100
        /// Lips older than this (a camera that stalls, a face gone) tell nothing.
        public var staleMilliseconds = 200

        public init() {}
    }

    public let parameters: Parameters
    private let sampleRate: Int
    private let windowSamples: Int
    private let staleSamples: Int
    private let stillAfterSamples: Int
    private let movingAfterSamples: Int
    /// How far behind the newest lips a split can land.
    public let holdSamples: Int
    /// The shortest piece a split leaves before it (a window: less is the onset and
    /// pre-roll before a subject's first movement, not someone else's speech).
    public var minimumPieceSamples: Int { windowSamples }
    private let trailSamples: Int
    private let leadSamples: Int

    /// Recent observations per track, oldest first.
    private var tracks: [Int: [LipObservation]] = [:]
    private var newest = Int.min

    /// What the open stretch of speech was labelled (nil: not yet known).
    public private(set) var label: LipActivity?
    /// The other state, since when (its first frame's lips), while it lasts.
    private var change: (activity: LipActivity, since: Int)?

    public init(parameters: Parameters = Parameters(), sampleRate: Int) {
        self.parameters = parameters
        self.sampleRate = sampleRate
        func samples(_ milliseconds: Int) -> Int { milliseconds * sampleRate / 1000 }
        windowSamples = samples(parameters.windowMilliseconds)
        staleSamples = samples(parameters.staleMilliseconds)
        stillAfterSamples = samples(parameters.stillAfterMilliseconds)
        movingAfterSamples = samples(parameters.movingAfterMilliseconds)
        trailSamples = samples(parameters.trailMilliseconds)
        leadSamples = samples(parameters.leadMilliseconds)
        holdSamples = max(windowSamples - trailSamples, leadSamples)
    }

    /// Takes mouths seen, in any order; keeps a second behind the newest.
    public mutating func observe(_ observations: [LipObservation]) {
        for observation in observations {
            tracks[observation.track, default: []].append(observation)
            newest = max(newest, observation.sample)
        }
        for (track, list) in tracks {
            let sorted = list.sorted { $0.sample < $1.sample }
            let kept = sorted.filter { $0.sample >= newest - sampleRate }
            tracks[track] = kept.isEmpty ? nil : kept
        }
    }

    /// The lips' time the gate can speak for at `sample`: the newest lips up to it, or nil
    /// when those are stale or absent.
    func seen(at sample: Int) -> Int? {
        var latest: Int?
        for list in tracks.values {
            guard let last = list.last(where: { $0.sample <= sample }) else { continue }
            latest = max(latest ?? last.sample, last.sample)
        }
        guard let latest, sample - latest <= staleSamples else { return nil }
        return latest
    }

    /// Moving, still, or nil (no face's lips over the window ending at `time`).
    func activity(at time: Int) -> LipActivity? {
        var anyFace = false
        for list in tracks.values {
            let inWindow = list.filter { $0.sample <= time && $0.sample >= time - windowSamples }
            // A face judged on too little of the window (it just came, or left) is not judged.
            guard inWindow.count >= 3, let first = inWindow.first, let last = inWindow.last,
                  last.sample - first.sample >= windowSamples / 2, time - last.sample <= staleSamples else { continue }
            anyFace = true
            var sum = 0.0
            for (a, b) in zip(inWindow, inWindow.dropFirst()) {
                let speed = (b.gap - a.gap) * Double(sampleRate) / Double(max(1, b.sample - a.sample))
                sum += speed * speed
            }
            if (sum / Double(inWindow.count - 1)).squareRoot() >= parameters.threshold { return .moving }
        }
        return anyFace ? .still : nil
    }

    /// What the segmenter must do at the end of a frame.
    public enum Decision: Sendable, Equatable {
        case none
        /// Split the open utterance at this sample: before it, the old label; from it, the new.
        case split(at: Int)
    }

    /// Reads the lips at the end of the frame ending at `frameEnd`. Between utterances the
    /// label follows the lips; in one (`open`), a change that has lasted asks for a split.
    public mutating func step(frameEnd: Int, open: Bool) -> Decision {
        guard let seen = seen(at: frameEnd), let now = activity(at: seen) else {
            // Nothing to go on: keep the label, forget a change under way.
            change = nil
            return .none
        }
        guard open, let label else {
            label = now
            change = nil
            return .none
        }
        guard now != label else {
            change = nil
            return .none
        }
        if change?.activity != now { change = (now, seen) }
        let since = change!.since
        switch now {
        case .still:
            guard seen - since >= stillAfterSamples else { return .none }
            // Still over the window before `since`: the lips last moved about a window earlier.
            return .split(at: since - windowSamples + trailSamples)
        case .moving:
            guard seen - since >= movingAfterSamples else { return .none }
            return .split(at: since - leadSamples)
        }
    }

    /// The split was made (or could not be, the utterance being too short): the change is
    /// the label now.
    public mutating func accept() {
        if let change { label = change.activity }
        change = nil
    }

    /// The utterance ended: the next one is labelled afresh.
    public mutating func reset() {
        label = nil
        change = nil
    }

    /// The earliest sample a split could still land on, given what is known at `frameEnd`:
    /// nil when no lips are seen (nothing can split).
    public func earliestSplit(frameEnd: Int) -> Int? {
        guard let seen = seen(at: frameEnd) else { return nil }
        guard let change else { return seen - holdSamples }
        let pending = change.activity == .still ? change.since - windowSamples + trailSamples : change.since - leadSamples
        return min(pending, seen - holdSamples)
    }
}
