import Foundation

/// Splits a live 16 kHz stream into utterances.
///
/// Besides the events, a segmenter says what it knows of the utterance still open, so that
/// the engine can start work early: which samples are surely speech (`speechEnd`) and where
/// the speech will have ended if the pause under way lasts (`pendingSpeechEnd`).
public protocol UtteranceSegmenting: Sendable {
    /// Samples per second of the stream it reads.
    var sampleRate: Int { get }
    /// Feeds the next samples; returns what happened in them.
    mutating func process(_ samples: [Float]) -> [SegmenterEvent]
    /// Ends the stream: an utterance still open is closed.
    mutating func finish() -> [SegmenterEvent]
    /// A sample every sample before which belongs to the open utterance however it ends: the
    /// end of its last speech frame, held back while a visual gate could still split the
    /// utterance before that (``VisualGate``); it never moves back. nil between utterances.
    var speechEnd: Int? { get }
    /// The `speechEndSample` the open utterance will have if the pause under way lasts;
    /// nil while speech goes on or between utterances.
    var pendingSpeechEnd: Int? { get }
    /// How long the pause under way has lasted (0 while speech goes on).
    var pauseMilliseconds: Int { get }
    /// Takes the mouths in view (``VisualGate``); a segmenter without a visual gate ignores
    /// them.
    mutating func observeLips(_ observations: [LipObservation])
}

extension UtteranceSegmenting {
    public mutating func observeLips(_ observations: [LipObservation]) {}
}

/// What a segmenter reports, in stream order.
public enum SegmenterEvent: Sendable, Equatable {
    /// Speech began at this sample (pre-roll included); its utterance follows later.
    case speechStarted(sample: Int)
    /// An utterance ended.
    case utterance(Utterance)
}

/// One utterance: where it lies in the stream and its samples.
public struct Utterance: Sendable, Equatable {
    /// First sample (pre-roll included), counted from the start of the stream.
    public let startSample: Int
    /// One past the last sample (hangover tail included).
    public let endSample: Int
    /// One past the last speech frame (≤ `endSample`): where the speech itself ends. What
    /// follows, the tail, is there to give the span a margin; it is silence by the
    /// segmenter's own judgement, and speech features need not wait for it.
    public let speechEndSample: Int
    public let sampleRate: Int
    /// The audio of [startSample, endSample).
    public let audio: [Float]
    /// Cut at the maximum length while speech went on (the next utterance starts here).
    public let forcedSplit: Bool
    /// What the visible lips did while it was spoken (``VisualGate``): nil without a gate,
    /// or with no face in view. An utterance ends where they changed if the voice went on.
    public var lips: LipActivity? = nil

    public var startSeconds: Double { Double(startSample) / Double(sampleRate) }
    public var endSeconds: Double { Double(endSample) / Double(sampleRate) }
    public var durationSeconds: Double { endSeconds - startSeconds }
}

/// The segmenter's parameters, in milliseconds, decibels and probabilities as configured.
public struct SegmenterParameters: Sendable, Equatable {
    /// The energy detector's analysis frame (Silero VAD's is its 32 ms chunk).
    public var frameMilliseconds = 10
    /// Audio kept before the first speech frame (soft onsets the detector hears late).
    public var preRollMilliseconds = 60
    /// Speech frames within `onsetWindowMilliseconds` that start an utterance.
    public var minimumSpeechMilliseconds = 80
    public var onsetWindowMilliseconds = 150
    /// Non-speech that ends an utterance (shorter pauses stay inside it).
    public var hangoverMilliseconds = 240
    /// Audio kept after the last speech frame.
    public var tailMilliseconds = 40
    /// Longest utterance; longer speech is split here.
    public var maximumUtteranceMilliseconds = 15_000
    /// Energy detector: a frame is speech when its band energy exceeds the noise floor by this
    /// much to start…
    public var startMarginDecibels: Double = 9
    /// …and by this much to continue an utterance.
    public var continueMarginDecibels: Double = 6
    /// The noise floor is the quietest frame in this span (minimum statistics), so it follows
    /// steady background noise up and down without learning speech as noise.
    public var noiseWindowMilliseconds = 3000
    /// Frames quieter than this are silence whatever the floor (digital silence, a muted mic).
    public var absoluteFloorDecibels: Double = -60
    /// Silero VAD: a chunk is speech when its probability reaches this to start an utterance…
    public var speechThreshold: Double = 0.5
    /// …and this to continue one (Silero's own rule: 0.15 below the threshold).
    public var continueThreshold: Double = 0.35
    /// Silero VAD's level gate: a voiced frame starts speech only within this of the
    /// foreground talker's level…
    public var foregroundStartDecibels: Double = 8
    /// …and continues it within this. Chosen on `merd bench noise` (docs/noise.md): 6–10 dB
    /// to start and 12–18 to continue trade found utterances under background talkers against
    /// soft onsets cut in clean speech; 8 and 14 keep clean speech as without the gate.
    public var foregroundContinueDecibels: Double = 14
    /// The visual gate (``VisualGate``): split the subject's speech from a background
    /// talker's where the visible lips start or stop moving while the voice goes on. It does
    /// nothing until lips are observed.
    public var visualGate: VisualGate.Parameters? = VisualGate.Parameters()

    public init() {}
}

/// An utterance segmenter over a frame detector: onset, hangover, pre-roll, tail and
/// maximum-length rules on the detector's per-frame verdicts. The detector decides what is
/// speech (band energy, Silero VAD); this decides where utterances begin and end.
public struct FrameSegmenter<Detector: SpeechFrameDetecting>: UtteranceSegmenting {
    public let parameters: SegmenterParameters
    public let sampleRate: Int
    public private(set) var detector: Detector
    /// The visual gate, when the parameters ask for one.
    public private(set) var gate: VisualGate?

    // Units computed once, in samples and frames.
    private let frameSamples: Int
    private let frameMilliseconds: Int
    private let preRollSamples: Int
    private let tailSamples: Int
    private let onsetFrames: Int
    private let minimumSpeechFrames: Int
    private let hangoverFrames: Int
    private let maximumSamples: Int

    /// The frame being filled.
    private var frame: [Float] = []
    /// Frames seen.
    private var frameIndex = 0
    /// Recent frames' speech decisions (for the onset rule), newest last.
    private var recentSpeech: [Bool] = []

    /// Audio not yet handed out: from `bufferStart` on.
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var inUtterance = false
    private var utteranceStart = 0
    private var lastSpeechEnd = 0
    /// `speechEnd` as handed out for the open utterance: it never moves back, and no split
    /// lands before it.
    private var promisedEnd = 0
    private var silentFrames = 0
    /// End of the last utterance emitted (pre-roll never reaches back over it).
    private var lastUtteranceEnd = 0

    public init(detector: Detector, parameters: SegmenterParameters = SegmenterParameters()) {
        self.detector = detector
        self.parameters = parameters
        sampleRate = detector.sampleRate
        let sampleRate = detector.sampleRate
        let frameMilliseconds = max(1, detector.frameSamples * 1000 / sampleRate)
        func samples(_ milliseconds: Int) -> Int { milliseconds * sampleRate / 1000 }
        func frames(_ milliseconds: Int) -> Int { max(1, milliseconds / frameMilliseconds) }
        frameSamples = detector.frameSamples
        self.frameMilliseconds = frameMilliseconds
        preRollSamples = samples(parameters.preRollMilliseconds)
        tailSamples = samples(parameters.tailMilliseconds)
        onsetFrames = frames(parameters.onsetWindowMilliseconds)
        minimumSpeechFrames = min(onsetFrames, frames(parameters.minimumSpeechMilliseconds))
        hangoverFrames = frames(parameters.hangoverMilliseconds)
        maximumSamples = samples(parameters.maximumUtteranceMilliseconds)
        gate = parameters.visualGate.map { VisualGate(parameters: $0, sampleRate: sampleRate) }
        frame.reserveCapacity(frameSamples)
    }

    /// The `speechEndSample` the open utterance will have if the pause now under way lasts
    /// out the hangover: set from the pause's first silent frame, nil while speech goes on or
    /// between utterances. Work that needs the end of the speech can start here, a hangover
    /// early, at the risk that speech resumes.
    public var pendingSpeechEnd: Int? {
        guard inUtterance, silentFrames > 0 else { return nil }
        return max(lastSpeechEnd, utteranceStart)
    }

    /// The end of the open utterance's last speech frame, held back while the visual gate
    /// could still split before it: every sample before it belongs to the utterance however
    /// it ends (by a pause, a forced split, a split by the lips or the end of the stream).
    /// nil between utterances.
    public var speechEnd: Int? {
        inUtterance ? max(promisedEnd, utteranceStart) : nil
    }

    /// How long the pause under way has lasted, in milliseconds (0 while speech goes on).
    public var pauseMilliseconds: Int {
        inUtterance ? silentFrames * frameMilliseconds : 0
    }

    public mutating func observeLips(_ observations: [LipObservation]) {
        gate?.observe(observations)
    }

    public mutating func process(_ samples: [Float]) -> [SegmenterEvent] {
        var events: [SegmenterEvent] = []
        buffer.append(contentsOf: samples)
        var next = samples.startIndex
        while next < samples.endIndex {
            let take = min(frameSamples - frame.count, samples.endIndex - next)
            frame.append(contentsOf: samples[next..<(next + take)])
            next += take
            if frame.count == frameSamples {
                endFrame(speech: detector.classify(frame[...]), &events)
                frame.removeAll(keepingCapacity: true)
            }
        }
        trimBuffer()
        return events
    }

    public mutating func finish() -> [SegmenterEvent] {
        var events: [SegmenterEvent] = []
        if inUtterance {
            let end = min(bufferStart + buffer.count, lastSpeechEnd + tailSamples)
            events.append(.utterance(cut(from: utteranceStart, to: end, speechEnd: lastSpeechEnd, forced: false, lips: gate?.label)))
            inUtterance = false
        }
        return events
    }

    private mutating func endFrame(speech: SpeechFrame, _ events: inout [SegmenterEvent]) {
        let wasOpen = inUtterance
        advance(speech: speech, &events)
        guard var gate else {
            if inUtterance { promisedEnd = lastSpeechEnd }
            return
        }
        defer { self.gate = gate }
        let frameEnd = frameIndex * frameSamples
        let decision = gate.step(frameEnd: frameEnd, open: wasOpen && inUtterance)
        guard inUtterance else { return }
        if case .split(let at) = decision, speech.continuesSpeech {
            let at = max(at, promisedEnd, utteranceStart)
            if at - utteranceStart >= gate.minimumPieceSamples {
                events.append(.utterance(cut(from: utteranceStart, to: at, speechEnd: min(lastSpeechEnd, at), forced: false, lips: gate.label)))
                utteranceStart = at
                promisedEnd = at
                events.append(.speechStarted(sample: at))
            }
            // Else too little before the change to stand alone (the pre-roll and onset before
            // a subject's first movement): the whole is the new kind.
            gate.accept()
        }
        promisedEnd = max(promisedEnd, min(lastSpeechEnd, gate.earliestSplit(frameEnd: frameEnd) ?? .max))
    }

    /// The onset, hangover and maximum-length rules on one frame's verdict.
    private mutating func advance(speech: SpeechFrame, _ events: inout [SegmenterEvent]) {
        let frameStart = frameIndex * frameSamples
        frameIndex += 1

        if !inUtterance {
            recentSpeech.append(speech.startsSpeech)
            if recentSpeech.count > onsetFrames { recentSpeech.removeFirst() }
            guard speech.startsSpeech, recentSpeech.filter({ $0 }).count >= minimumSpeechFrames else { return }
            // Speech began at the first speech frame of the onset window.
            let firstSpeech = recentSpeech.firstIndex(of: true)!
            let onset = frameStart - (recentSpeech.count - 1 - firstSpeech) * frameSamples
            utteranceStart = max(lastUtteranceEnd, bufferStart, onset - preRollSamples)
            promisedEnd = utteranceStart
            inUtterance = true
            silentFrames = 0
            lastSpeechEnd = frameStart + frameSamples
            recentSpeech.removeAll(keepingCapacity: true)
            events.append(.speechStarted(sample: utteranceStart))
            return
        }
        if speech.continuesSpeech {
            silentFrames = 0
            lastSpeechEnd = frameStart + frameSamples
        } else {
            silentFrames += 1
        }
        let frameEnd = frameStart + frameSamples
        if silentFrames >= hangoverFrames {
            events.append(.utterance(cut(from: utteranceStart, to: min(frameEnd, lastSpeechEnd + tailSamples),
                                         speechEnd: lastSpeechEnd, forced: false, lips: gate?.label)))
            inUtterance = false
        } else if frameEnd - utteranceStart >= maximumSamples {
            // Speech goes on: close this utterance here and open the next at the same sample.
            events.append(.utterance(cut(from: utteranceStart, to: frameEnd, speechEnd: frameEnd, forced: true, lips: gate?.label)))
            utteranceStart = frameEnd
            promisedEnd = frameEnd
            events.append(.speechStarted(sample: frameEnd))
        }
    }

    /// The utterance [start, end) out of the buffer, its speech ending at `speechEnd`.
    private mutating func cut(from start: Int, to end: Int, speechEnd: Int, forced: Bool, lips: LipActivity?) -> Utterance {
        let audio = Array(buffer[(start - bufferStart)..<(end - bufferStart)])
        lastUtteranceEnd = end
        return Utterance(startSample: start, endSample: end, speechEndSample: min(end, max(start, speechEnd)),
                         sampleRate: sampleRate, audio: audio, forcedSplit: forced, lips: lips)
    }

    /// Keeps only what an utterance may still need: its own audio, or the pre-roll span.
    private mutating func trimBuffer() {
        let keepFrom = inUtterance ? utteranceStart : max(lastUtteranceEnd, bufferStart + buffer.count - preRollSamples - onsetFrames * frameSamples - frameSamples)
        let drop = keepFrom - bufferStart
        // Drop in large steps: removing from the front of an array moves the rest.
        if drop > 16000 || (drop > 0 && !inUtterance && drop * 2 > buffer.count) {
            buffer.removeFirst(drop)
            bufferStart = keepFrom
        }
    }
}

/// The energy segmenter: band energy over an adaptive noise floor (``EnergySpeechDetector``).
public typealias EnergySegmenter = FrameSegmenter<EnergySpeechDetector>

extension FrameSegmenter where Detector == EnergySpeechDetector {
    public init(parameters: SegmenterParameters = SegmenterParameters(), sampleRate: Int = 16000) {
        self.init(detector: EnergySpeechDetector(parameters: parameters, sampleRate: sampleRate), parameters: parameters)
    }
}

/// The Silero VAD segmenter (``SileroSpeechDetector``).
public typealias SileroSegmenter = FrameSegmenter<SileroSpeechDetector>

extension FrameSegmenter where Detector == SileroSpeechDetector {
    public init(model: SileroVAD, parameters: SegmenterParameters = SegmenterParameters()) {
        self.init(detector: SileroSpeechDetector(model: model, parameters: parameters), parameters: parameters)
    }
}

