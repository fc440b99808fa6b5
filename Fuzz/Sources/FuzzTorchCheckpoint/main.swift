import FuzzInput
import NeuralKit

/// A PyTorch checkpoint (zip archive, restricted unpickler, tensor views on storages), as every
/// loader opens it, then every tensor read.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    FuzzInput.withFile(data, size) { path in
        guard let file = try? openCheckpoint(path: path) else { return }
        for name in file.names { _ = try? file.tensor(name) }
    }
    return 0
}
