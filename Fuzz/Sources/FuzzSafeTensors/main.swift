import FuzzInput
import NeuralKit

/// A safetensors file: the header parsed and validated, then every tensor read as Float32.
/// Any input must end in a typed error or a value, never a crash or an out-of-bounds read.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    FuzzInput.withFile(data, size) { path in
        guard let file = try? SafeTensorsFile(path: path) else { return }
        for entry in file.entries { _ = try? file.tensor(entry.name) }
    }
    return 0
}
