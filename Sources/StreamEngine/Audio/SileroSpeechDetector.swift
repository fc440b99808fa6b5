/// Speech by Silero VAD, kept to the nearest voice: a frame is the model's 32 ms chunk; it
/// is speech when its probability reaches `speechThreshold` (to start an utterance) or
/// `continueThreshold` (to continue one) **and** its level is within a margin of the
/// foreground talker's.
///
/// A neural detector hears a voice, not loudness: steady noise and music stay out. But it
/// hears every voice, and a television or a colleague 20 dB behind the subject is speech to
/// it, so alone it merges the subject's utterances through the other talker's words (48 of 48
/// utterances clean, 16 with a background talker 20 dB down; docs/noise.md). The level gate
/// keeps the loudest voice: the foreground level follows the band energy (200–3500 Hz) of the
/// frames it accepts, sinks 1 dB a second so that a talker who left frees the floor, and jumps
/// up when a louder voice speaks.
public struct SileroSpeechDetector: SpeechFrameDetecting {
    public let model: SileroVAD
    public let sampleRate = SileroVAD.sampleRate
    public let frameSamples = SileroVAD.chunkSamples
    let speechThreshold: Float, continueThreshold: Float
    let startMargin: Double, continueMargin: Double
    private var state = SileroVAD.State()
    /// The foreground talker's level, dB (band energy per sample); none heard yet at start.
    private var foreground = -Double.infinity
    private var band = BandLevel(sampleRate: SileroVAD.sampleRate)
    /// The last frame's probability (for tools that show it).
    public private(set) var lastProbability: Float = 0

    /// How fast the foreground level follows accepted frames, per frame.
    static let following = 0.1
    /// How fast it sinks, dB per frame (1 dB a second).
    static let sinking = Double(SileroVAD.chunkSamples) / Double(SileroVAD.sampleRate)

    public init(model: SileroVAD, parameters: SegmenterParameters = SegmenterParameters()) {
        self.model = model
        speechThreshold = Float(parameters.speechThreshold)
        continueThreshold = Float(min(parameters.continueThreshold, parameters.speechThreshold))
        startMargin = parameters.foregroundStartDecibels
        continueMargin = max(parameters.foregroundContinueDecibels, parameters.foregroundStartDecibels)
    }

    public mutating func classify(_ frame: ArraySlice<Float>) -> SpeechFrame {
        lastProbability = model.probability(of: frame, state: &state)
        let decibels = band.decibels(frame)
        foreground -= Self.sinking
        let voiced = lastProbability >= speechThreshold
        if voiced && decibels >= foreground - startMargin {
            foreground = foreground.isFinite ? foreground + Self.following * (decibels - foreground) : decibels
            // A voice well above the level is a nearer talker: the level is at least its margin below it.
            foreground = max(foreground, decibels - startMargin)
        }
        return SpeechFrame(startsSpeech: voiced && decibels >= foreground - startMargin,
                           continuesSpeech: lastProbability >= continueThreshold && decibels >= foreground - continueMargin)
    }
}
