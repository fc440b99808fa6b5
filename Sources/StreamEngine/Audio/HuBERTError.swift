import NeuralKit

/// Why a HuBERT model could not be loaded or run. Each names the file and the thing at fault.
public enum HuBERTError: Error, Equatable, CustomStringConvertible {
    /// The model directory lacks `config.json`, or both `model.safetensors` and `pytorch_model.bin`.
    case missingFile(path: String)
    /// `config.json` (or `preprocessor_config.json`) is not the JSON merd expects.
    case invalidConfiguration(file: String, reason: String)
    /// The configuration describes something merd does not run.
    case unsupportedConfiguration(file: String, key: String, found: String, need: String)
    /// A tensor is missing, mis-shaped, or the file is damaged.
    case weights(SafeTensorsError)
    /// Tensors the architecture has no place for (a different model, or a task head).
    case unknownTensors(file: String, names: [String])
    /// A layer outside 0…L was requested.
    case layerOutOfRange(layer: Int, layers: Int)
    /// Fewer samples than one frame needs.
    case audioTooShort(samples: Int, needed: Int)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): not found (a model directory holds config.json and the weights, model.safetensors or pytorch_model.bin; `merd models fetch hubert-large` downloads one)"
        case .invalidConfiguration(let file, let reason):
            return "\(file): invalid configuration (\(reason))"
        case .unsupportedConfiguration(let file, let key, let found, let need):
            return "\(file): \(key) is \(found); merd runs \(need)"
        case .weights(let error):
            return error.description
        case .unknownTensors(let file, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(file): \(names.count) tensor(s) this architecture does not have (\(shown)\(names.count > 5 ? ", …" : "")); is config.json the one for these weights?"
        case .layerOutOfRange(let layer, let layers):
            return "layer \(layer) requested; the model has hidden states 0…\(layers)"
        case .audioTooShort(let samples, let needed):
            return "audio of \(samples) samples is shorter than one frame (\(needed) samples at 16 kHz)"
        }
    }
}
