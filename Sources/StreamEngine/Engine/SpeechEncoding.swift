import NeuralKit

/// The engine's speech stage: pooled hidden states per utterance, computed while it is
/// spoken. `HuBERTSpeechEncoder` is the real one; tests script their own.
public protocol SpeechEncoding: Sendable {
    /// The layers pooled per utterance (fusion inputs `HL<k>`).
    var layers: [Int] { get }
    /// A new utterance's encoder. The engine uses it on its compute queue only, one call
    /// at a time, in the order of the `SpeechFeed` steps.
    func beginUtterance() -> any UtteranceEncoding
}

/// One utterance's encoder (see `SpeechFeed.Step`).
///
/// - Important: conformers are used from the engine's serial compute queue only, never
///   concurrently; that confinement is what lets a conformer be a plain class.
public protocol UtteranceEncoding: AnyObject, Sendable {
    /// Samples surely inside the utterance, in order.
    func push(_ samples: [Float])
    /// Computes, on a copy, the features the utterance would have if `rest` were its last
    /// samples. `stillWanted` is asked between units of work; false drops the speculation.
    /// Returns whether it finished.
    func speculate(_ rest: [Float], stillWanted: () -> Bool) -> Bool
    /// Pooled states per layer after the last samples `rest`; nil when there are none
    /// (no model, an utterance too short).
    func finish(rest: [Float]) -> [Int: Tensor]?
    /// Whether `finish` handed over a speculated result.
    var usedSpeculation: Bool { get }
}

/// HuBERT (or wav2vec2) as the speech stage, windowed as configured.
public struct HuBERTSpeechEncoder: SpeechEncoding {
    public let model: HuBERT
    public let layers: [Int]
    public let windowing: HuBERTWindowing

    public init(model: HuBERT, layers: [Int], windowing: HuBERTWindowing = HuBERTWindowing()) {
        self.model = model
        self.layers = layers
        self.windowing = windowing
    }

    public func beginUtterance() -> any UtteranceEncoding {
        UtteranceJob(model: model, layers: layers, windowing: windowing)
    }
}
