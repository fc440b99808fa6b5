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
    /// The end of the open utterance's last speech frame (every sample before it belongs to
    /// the utterance however it ends); nil between utterances.
    var speechEnd: Int? { get }
    /// The `speechEndSample` the open utterance will have if the pause under way lasts;
    /// nil while speech goes on or between utterances.
    var pendingSpeechEnd: Int? { get }
    /// How long the pause under way has lasted (0 while speech goes on).
    var pauseMilliseconds: Int { get }
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

    public var startSeconds: Double { Double(startSample) / Double(sampleRate) }
    public var endSeconds: Double { Double(endSample) / Double(sampleRate) }
    public var durationSeconds: Double { endSeconds - startSeconds }
}

/// The segmenter's parameters, in milliseconds and decibels as configured.
public struct SegmenterParameters: Sendable, Equatable {
    /// Analysis frame.
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
    /// A frame is speech when its band energy exceeds the noise floor by this much to start…
    public var startMarginDecibels: Double = 9
    /// …and by this much to continue an utterance.
    public var continueMarginDecibels: Double = 6
    /// The noise floor is the quietest frame in this span (minimum statistics), so it follows
    /// steady background noise up and down without learning speech as noise.
    public var noiseWindowMilliseconds = 3000
    /// Frames quieter than this are silence whatever the floor (digital silence, a muted mic).
    public var absoluteFloorDecibels: Double = -60

    public init() {}
}

/// An energy detector over band-limited audio with an adaptive noise floor and hysteresis:
/// band-pass 200–3500 Hz (where speech is and hum and hiss are not), 10 ms frame energy in
/// dB, noise floor = minimum over the last 3 s, start/continue margins above it, then onset,
/// hangover and maximum-length rules. Cost: two biquads and a sum per sample.
public struct EnergySegmenter: UtteranceSegmenting {
    public let parameters: SegmenterParameters
    public let sampleRate: Int

    // Units computed once, in samples and frames.
    private let frameSamples: Int
    private let preRollSamples: Int
    private let tailSamples: Int
    private let onsetFrames: Int
    private let minimumSpeechFrames: Int
    private let hangoverFrames: Int
    private let maximumSamples: Int
    private let noiseWindowFrames: Int

    private var highPass: Biquad
    private var lowPass: Biquad
    private var frameEnergy = 0.0
    private var frameFill = 0
    /// Frames seen.
    private var frameIndex = 0
    private var noise: SlidingMinimum
    /// Recent frames' speech decisions (for the onset rule), newest last.
    private var recentSpeech: [Bool] = []

    /// Audio not yet handed out: from `bufferStart` on.
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var inUtterance = false
    private var utteranceStart = 0
    private var lastSpeechEnd = 0
    private var silentFrames = 0
    /// End of the last utterance emitted (pre-roll never reaches back over it).
    private var lastUtteranceEnd = 0

    public init(parameters: SegmenterParameters = SegmenterParameters(), sampleRate: Int = 16000) {
        self.parameters = parameters
        self.sampleRate = sampleRate
        func samples(_ milliseconds: Int) -> Int { milliseconds * sampleRate / 1000 }
        frameSamples = max(1, samples(parameters.frameMilliseconds))
        preRollSamples = samples(parameters.preRollMilliseconds)
        tailSamples = samples(parameters.tailMilliseconds)
        onsetFrames = max(1, parameters.onsetWindowMilliseconds / parameters.frameMilliseconds)
        minimumSpeechFrames = max(1, min(onsetFrames, parameters.minimumSpeechMilliseconds / parameters.frameMilliseconds))
        hangoverFrames = max(1, parameters.hangoverMilliseconds / parameters.frameMilliseconds)
        maximumSamples = samples(parameters.maximumUtteranceMilliseconds)
        noiseWindowFrames = max(1, parameters.noiseWindowMilliseconds / parameters.frameMilliseconds)
        highPass = Biquad.highPass(cutoff: 200, sampleRate: Double(sampleRate))
        lowPass = Biquad.lowPass(cutoff: 3500, sampleRate: Double(sampleRate))
        noise = SlidingMinimum(window: noiseWindowFrames)
    }

    /// The `speechEndSample` the open utterance will have if the pause now under way lasts
    /// out the hangover: set from the pause's first silent frame, nil while speech goes on or
    /// between utterances. Work that needs the end of the speech can start here, a hangover
    /// early, at the risk that speech resumes.
    public var pendingSpeechEnd: Int? {
        guard inUtterance, silentFrames > 0 else { return nil }
        return max(lastSpeechEnd, utteranceStart)
    }

    /// The end of the open utterance's last speech frame: every sample before it belongs to
    /// the utterance however it ends (by a pause, a forced split or the end of the stream).
    /// nil between utterances.
    public var speechEnd: Int? {
        inUtterance ? max(lastSpeechEnd, utteranceStart) : nil
    }

    /// How long the pause under way has lasted, in milliseconds (0 while speech goes on).
    public var pauseMilliseconds: Int {
        inUtterance ? silentFrames * parameters.frameMilliseconds : 0
    }

    public mutating func process(_ samples: [Float]) -> [SegmenterEvent] {
        var events: [SegmenterEvent] = []
        buffer.append(contentsOf: samples)
        for sample in samples {
            let filtered = lowPass.process(highPass.process(Double(sample)))
            frameEnergy += filtered * filtered
            frameFill += 1
            if frameFill == frameSamples {
                endFrame(&events)
                frameEnergy = 0
                frameFill = 0
            }
        }
        trimBuffer()
        return events
    }

    public mutating func finish() -> [SegmenterEvent] {
        var events: [SegmenterEvent] = []
        if inUtterance {
            let end = min(bufferStart + buffer.count, lastSpeechEnd + tailSamples)
            events.append(.utterance(cut(from: utteranceStart, to: end, speechEnd: lastSpeechEnd, forced: false)))
            inUtterance = false
        }
        return events
    }

    private mutating func endFrame(_ events: inout [SegmenterEvent]) {
        let decibels = 10 * log10(frameEnergy / Double(frameSamples) + 1e-12)
        // Digital silence (a muted input, zero padding) counts as the absolute floor, not as
        // -120 dB: it must not drag the floor down to where any murmur counts as speech.
        let floor = noise.push(max(decibels, parameters.absoluteFloorDecibels))
        let frameStart = frameIndex * frameSamples
        frameIndex += 1
        let loudEnough = decibels > parameters.absoluteFloorDecibels
        let startsSpeech = loudEnough && decibels > floor + parameters.startMarginDecibels
        let continuesSpeech = loudEnough && decibels > floor + parameters.continueMarginDecibels

        if !inUtterance {
            recentSpeech.append(startsSpeech)
            if recentSpeech.count > onsetFrames { recentSpeech.removeFirst() }
            guard startsSpeech, recentSpeech.filter({ $0 }).count >= minimumSpeechFrames else { return }
            // Speech began at the first speech frame of the onset window.
            let firstSpeech = recentSpeech.firstIndex(of: true)!
            let onset = frameStart - (recentSpeech.count - 1 - firstSpeech) * frameSamples
            utteranceStart = max(lastUtteranceEnd, bufferStart, onset - preRollSamples)
            inUtterance = true
            silentFrames = 0
            lastSpeechEnd = frameStart + frameSamples
            recentSpeech.removeAll(keepingCapacity: true)
            events.append(.speechStarted(sample: utteranceStart))
            return
        }
        if continuesSpeech {
            silentFrames = 0
            lastSpeechEnd = frameStart + frameSamples
        } else {
            silentFrames += 1
        }
        let frameEnd = frameStart + frameSamples
        if silentFrames >= hangoverFrames {
            events.append(.utterance(cut(from: utteranceStart, to: min(frameEnd, lastSpeechEnd + tailSamples),
                                         speechEnd: lastSpeechEnd, forced: false)))
            inUtterance = false
        } else if frameEnd - utteranceStart >= maximumSamples {
            // Speech goes on: close this utterance here and open the next at the same sample.
            events.append(.utterance(cut(from: utteranceStart, to: frameEnd, speechEnd: frameEnd, forced: true)))
            utteranceStart = frameEnd
            events.append(.speechStarted(sample: frameEnd))
        }
    }

    /// The utterance [start, end) out of the buffer, its speech ending at `speechEnd`.
    private mutating func cut(from start: Int, to end: Int, speechEnd: Int, forced: Bool) -> Utterance {
        let audio = Array(buffer[(start - bufferStart)..<(end - bufferStart)])
        lastUtteranceEnd = end
        return Utterance(startSample: start, endSample: end, speechEndSample: min(end, max(start, speechEnd)),
                         sampleRate: sampleRate, audio: audio, forcedSplit: forced)
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

/// A second-order IIR filter (RBJ's audio EQ cookbook), Butterworth Q.
struct Biquad {
    let b0, b1, b2, a1, a2: Double
    var z1 = 0.0, z2 = 0.0

    static func lowPass(cutoff: Double, sampleRate: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate, alpha = sin(w) / (2 * 0.7071067811865476), c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    static func highPass(cutoff: Double, sampleRate: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate, alpha = sin(w) / (2 * 0.7071067811865476), c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    /// Transposed direct form II.
    @inline(__always)
    mutating func process(_ x: Double) -> Double {
        let y = b0 * x + z1
        z1 = b1 * x - a1 * y + z2
        z2 = b2 * x - a2 * y
        return y
    }
}

/// Minimum of the last `window` values, amortised O(1) per push (monotonic deque).
struct SlidingMinimum {
    let window: Int
    private var values: [(index: Int, value: Double)] = []
    private var head = 0
    private var count = 0

    init(window: Int) { self.window = window }

    /// Adds a value and returns the minimum of the window ending with it.
    mutating func push(_ value: Double) -> Double {
        while values.count > head && values[values.count - 1].value >= value { values.removeLast() }
        values.append((count, value))
        count += 1
        while values[head].index <= count - 1 - window { head += 1 }
        if head > 4096 {
            values.removeFirst(head)
            head = 0
        }
        return values[head].value
    }
}
