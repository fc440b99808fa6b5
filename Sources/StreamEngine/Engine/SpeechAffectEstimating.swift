import NeuralKit

/// The engine's speech-emotion stage: valence and arousal of an utterance from the voice
/// alone (a pretrained dimensional model such as audEERING's wav2vec2 MSP-Podcast model).
/// Like the speech-feature stage it streams: the engine feeds its utterance encoder while the
/// utterance is spoken, so only the last window is left when it ends.
public protocol SpeechAffectEstimating: Sendable {
    /// The name events give in `source` (`speech:<name>`).
    var modelName: String { get }
    /// A new utterance's encoder, pooling what the head reads; used from the compute queue
    /// only, as `SpeechEncoding`'s are.
    func beginUtterance() -> any UtteranceEncoding
    /// Valence and arousal on the events' [-5, 5] scale from the pooled states.
    func affect(fromPooled pooled: [Int: Tensor]) -> SpeechAffect?
}

/// What the voice says of an utterance, on the events' [-5, 5] scale.
public struct SpeechAffect: Sendable, Equatable {
    public var valence: Float
    public var arousal: Float

    public init(valence: Float, arousal: Float) {
        self.valence = valence
        self.arousal = arousal
    }
}
