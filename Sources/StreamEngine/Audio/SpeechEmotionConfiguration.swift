/// The head's side of a dimensional speech emotion checkpoint's `config.json` (the encoder's
/// side is ``HuBERTConfiguration``, read from the same file), with the keys audEERING's
/// `wav2vec2-large-robust-12-ft-emotion-msp-dim` publishes.
public struct SpeechEmotionConfiguration: Codable, Sendable, Equatable {
    /// `wav2vec2` (or `hubert`): the encoder's tensors sit under `<modelType>.`.
    public var modelType: String
    public var hiddenSize: Int
    /// Output index (as a string, as JSON keys are) → label: the order of the head's outputs.
    /// The published model: `{"0": "arousal", "1": "dominance", "2": "valence"}`.
    public var labels: [String: String]
    /// How frames are pooled; the published config says `mean` (and so does the card's code).
    public var poolingMode: String?
    /// A learnt mix of every layer instead of the last one (transformers'
    /// `Wav2Vec2ForSequenceClassification` option); the published model does not use it.
    public var weightedLayerSum: Bool?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case labels = "id2label"
        case poolingMode = "pooling_mode"
        case weightedLayerSum = "use_weighted_layer_sum"
    }

    /// Where each dimension is among the head's outputs.
    public struct OutputOrder: Sendable, Equatable {
        public var arousal: Int
        public var dominance: Int
        public var valence: Int

        public init(arousal: Int, dominance: Int, valence: Int) {
            self.arousal = arousal
            self.dominance = dominance
            self.valence = valence
        }
    }

    /// The dimensions merd reads, as `id2label` names them.
    static let dimensions = ["arousal", "dominance", "valence"]

    /// The head's output count (`num_labels`, which transformers derives from `id2label`).
    public var outputCount: Int { labels.count }

    /// Where arousal, dominance and valence are, if `id2label` numbers exactly those three
    /// from 0.
    public var outputOrder: OutputOrder? {
        var index: [String: Int] = [:]
        for (key, label) in labels {
            guard let i = Int(key), (0..<Self.dimensions.count).contains(i), index[label.lowercased()] == nil else { return nil }
            index[label.lowercased()] = i
        }
        guard Set(index.keys) == Set(Self.dimensions) else { return nil }
        return OutputOrder(arousal: index["arousal"]!, dominance: index["dominance"]!, valence: index["valence"]!)
    }

    /// Every value merd cannot run, as (key, what it is, what would be needed); empty if it can.
    func unsupported() -> [(key: String, found: String, need: String)] {
        var problems: [(String, String, String)] = []
        if outputOrder == nil {
            let found = labels.sorted { (Int($0.key) ?? .max, $0.key) < (Int($1.key) ?? .max, $1.key) }
                .map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            problems.append(("id2label", "{\(found)}", "the three outputs arousal, dominance, valence numbered from 0"))
        }
        if let poolingMode, poolingMode != "mean" { problems.append(("pooling_mode", poolingMode, "mean")) }
        if weightedLayerSum == true { problems.append(("use_weighted_layer_sum", "true", "false (the last layer's states)")) }
        return problems
    }
}
