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

/// Reads a checkpoint's tensors strictly: each read is checked for shape, and `finish()`
/// reports every tensor no read asked for. Renames and reshapes are the caller's (the
/// loader of each model), never the layers'.
struct CheckpointReader {
    let file: SafeTensorsFile
    private(set) var consumed = Set<String>()

    init(path: String, model: String) throws(VisionModelError) {
        do {
            file = try SafeTensorsFile(path: path)
        } catch .notFound {
            throw .missingFile(path: path, model: model)
        } catch {
            throw .weights(error)
        }
    }

    init(file: SafeTensorsFile) {
        self.file = file
    }

    func has(_ name: String) -> Bool { file.entry(name) != nil }

    /// The shape of `name`, or a missing-tensor error.
    func shape(_ name: String) throws(VisionModelError) -> [Int] {
        guard let entry = file.entry(name) else { throw .weights(.missingTensor(file: file.path, tensor: name)) }
        return entry.shape
    }

    mutating func tensor(_ name: String, _ shape: [Int]) throws(VisionModelError) -> Tensor {
        do {
            let value = try file.tensor(name, shape: shape)
            consumed.insert(name)
            return value
        } catch {
            throw .weights(error)
        }
    }

    /// Marks a tensor as known but unused (e.g. a batch-norm step counter).
    mutating func skip(_ name: String) {
        if has(name) { consumed.insert(name) }
    }

    /// Throws if the file holds tensors no read asked for.
    func finish() throws(VisionModelError) {
        let unknown = file.names.filter { !consumed.contains($0) }
        guard unknown.isEmpty else { throw .unknownTensors(file: file.path, names: unknown.sorted()) }
    }
}
