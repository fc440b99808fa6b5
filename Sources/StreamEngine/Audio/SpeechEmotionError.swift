import NeuralKit

/// Why a speech emotion model could not be loaded or run. Each names the file and the thing at
/// fault. The encoder's own failures (``HuBERTError``) arrive as the same cases, and say what
/// they say there.
public enum SpeechEmotionError: Error, Equatable, CustomStringConvertible {
    /// The model directory lacks `config.json` or `model.safetensors`.
    case missingFile(path: String)
    /// `config.json` (or `preprocessor_config.json`) is not the JSON merd expects.
    case invalidConfiguration(file: String, reason: String)
    /// The configuration describes something merd does not run (an encoder setting, or a head
    /// other than arousal, dominance and valence over the mean of the last layer).
    case unsupportedConfiguration(file: String, key: String, found: String, need: String)
    /// A tensor is missing, mis-shaped, or the file is damaged.
    case weights(SafeTensorsError)
    /// Tensors neither the encoder nor the regression head has.
    case unknownTensors(file: String, names: [String])
    /// Fewer samples than one frame needs.
    case audioTooShort(samples: Int, needed: Int)

    /// The encoder's error as this model's.
    init(_ error: HuBERTError) {
        switch error {
        case .missingFile(let path): self = .missingFile(path: path)
        case .invalidConfiguration(let file, let reason): self = .invalidConfiguration(file: file, reason: reason)
        case .unsupportedConfiguration(let file, let key, let found, let need):
            self = .unsupportedConfiguration(file: file, key: key, found: found, need: need)
        case .weights(let error): self = .weights(error)
        case .unknownTensors(let file, let names): self = .unknownTensors(file: file, names: names)
        case .audioTooShort(let samples, let needed): self = .audioTooShort(samples: samples, needed: needed)
        case .layerOutOfRange:
            // The emotion model loads every layer and asks for the last one only.
            preconditionFailure("speech emotion model: \(error)")
        }
    }

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): not found (a speech emotion model directory holds config.json, the weights (model.safetensors or pytorch_model.bin) and preprocessor_config.json; `merd models fetch w2v2-msp-dim` downloads one)"
        case .invalidConfiguration(let file, let reason):
            return HuBERTError.invalidConfiguration(file: file, reason: reason).description
        case .unsupportedConfiguration(let file, let key, let found, let need):
            return HuBERTError.unsupportedConfiguration(file: file, key: key, found: found, need: need).description
        case .weights(let error):
            return error.description
        case .unknownTensors(let file, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(file): \(names.count) tensor(s) neither the encoder nor the regression head has (\(shown)\(names.count > 5 ? ", …" : "")); is this a different task model?"
        case .audioTooShort(let samples, let needed):
            return HuBERTError.audioTooShort(samples: samples, needed: needed).description
        }
    }
}
