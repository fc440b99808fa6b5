import NeuralKit

/// Why a face model could not be loaded. Each names the file and what is wrong with it, and
/// where the user can act, says how.
public enum VisionModelError: Error, Equatable, CustomStringConvertible {
    /// A model file the directory should hold is not there.
    case missingFile(path: String, model: String)
    /// A tensor is missing, mis-shaped, or the file is damaged.
    case weights(SafeTensorsError)
    /// Tensors the architecture has no place for.
    case unknownTensors(file: String, names: [String])
    /// The tensors are there but describe something this architecture cannot be.
    case inconsistent(file: String, reason: String)
    /// `model.json` is missing a field or is not JSON.
    case invalidManifest(file: String, reason: String)
    /// The dlib landmark model file is damaged or of another kind.
    case landmarkModel(DlibFormatError)

    public var description: String {
        switch self {
        case .missingFile(let path, let model):
            return "\(path): not found (the \(model) model; `tools/fetch-default-models` installs the default visual models)"
        case .weights(let error):
            return error.description
        case .unknownTensors(let file, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(file): \(names.count) tensor(s) this architecture does not have (\(shown)\(names.count > 5 ? ", …" : "")); is it the right model file?"
        case .inconsistent(let file, let reason):
            return "\(file): \(reason)"
        case .invalidManifest(let file, let reason):
            return "\(file): invalid model manifest (\(reason))"
        case .landmarkModel(let error):
            return error.description
        }
    }
}

extension StrictCheckpoint where Failure == VisionModelError {
    /// Opens the weights of the face model `model` (named in a missing-file error), with the
    /// checkpoint's errors in the vision models' terms.
    init(path: String, model: String) throws(VisionModelError) {
        try self.init(path: path) { error in
            switch error {
            case .notFound(let file): return .missingFile(path: file, model: model)
            case .unknownTensors(let file, let names): return .unknownTensors(file: file, names: names)
            default: return .weights(error)
            }
        }
    }
}
