import Foundation

/// The engine's speech-emotion stage: valence and arousal of an utterance from the voice
/// alone (a pretrained dimensional model such as audEERING's wav2vec2 MSP-Podcast model).
///
/// It reads the whole utterance once it has ended, not while it is spoken: such a model
/// normalises each utterance's waveform by its own mean and variance and attends over all of
/// it, so a streamed version would not be the model as published. Its cost is therefore
/// latency at the end of each utterance (docs/operations.md gives the numbers).
public protocol SpeechAffectEstimating: Sendable {
    /// The name events give in `source` (`speech:<name>`).
    var modelName: String { get }
    /// Valence and arousal on the events' [-5, 5] scale of an utterance's speech (16 kHz
    /// mono, from its start to the end of its last speech frame); nil when it cannot say (too
    /// short). Called from the engine's compute queue.
    func affect(ofSpeech samples: [Float]) -> AffectEstimate?
}

/// What a model says of valence and arousal, on the events' [-5, 5] scale.
public struct AffectEstimate: Sendable, Equatable {
    public var valence: Float
    public var arousal: Float

    public init(valence: Float, arousal: Float) {
        self.valence = valence
        self.arousal = arousal
    }
}

extension SpeechEmotionModel: SpeechAffectEstimating {
    /// The name `merd models fetch` installs it under.
    public var modelName: String { URL(fileURLWithPath: directory).lastPathComponent }

    public func affect(ofSpeech samples: [Float]) -> AffectEstimate? {
        guard samples.count >= minimumSamples, let estimate = try? estimate(samples) else { return nil }
        return AffectEstimate(valence: estimate.valenceOnMerdScale, arousal: estimate.arousalOnMerdScale)
    }
}
