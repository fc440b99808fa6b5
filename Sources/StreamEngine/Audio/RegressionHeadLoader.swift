import NeuralKit

/// Reads a speech emotion checkpoint's ``RegressionHead`` strictly and accounts for the rest
/// of the file: every tensor must be the encoder's (under `<model_type>.`, which
/// ``HuBERTWeightLoader`` reads strictly on its own) or one of the head's four.
///
/// Follows the model card of `audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim`
/// (`EmotionModel`: `self.wav2vec2 = Wav2Vec2Model(config)`, `self.classifier =
/// RegressionHead(config)`), so the names are the state dict's: `classifier.dense.*`,
/// `classifier.out_proj.*`. Linear weights are read straight into input-major layout.
struct RegressionHeadLoader {
    /// Where the head's tensors are.
    static let prefix = "classifier."

    let encoderPrefix: String
    let hiddenSize: Int
    let outputCount: Int
    private var checkpoint: StrictCheckpoint<SpeechEmotionError>

    init(file: any CheckpointFile, configuration: SpeechEmotionConfiguration) {
        encoderPrefix = configuration.modelType + "."
        hiddenSize = configuration.hiddenSize
        outputCount = configuration.outputCount
        checkpoint = StrictCheckpoint(file: file, prefix: Self.prefix) { error in
            if case .unknownTensors(let file, let names) = error { return .unknownTensors(file: file, names: names) }
            return .weights(error)
        }
    }

    mutating func load() throws(SpeechEmotionError) -> RegressionHead {
        let head = RegressionHead(dense: try linear("dense", out: hiddenSize, in: hiddenSize),
                                  output: try linear("out_proj", out: outputCount, in: hiddenSize))
        // The encoder's tensors are the encoder loader's to check; anything else is unknown.
        let encoderPrefix = encoderPrefix
        checkpoint.skip { $0.hasPrefix(encoderPrefix) }
        try checkpoint.finish()
        return head
    }

    private mutating func linear(_ name: String, out: Int, in inputs: Int) throws(SpeechEmotionError) -> Linear {
        let weight = try checkpoint.matrix(["\(name).weight"], rows: out, columns: inputs, transposed: true)
        return Linear(inputMajorWeight: weight, bias: try checkpoint.tensor("\(name).bias", shape: [out]))
    }
}
