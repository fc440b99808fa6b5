import Foundation
import NeuralKit

/// Random weights for a checkpoint, written by name and read back by the model's own loader:
/// a stand-in for a model the user has not converted, which costs the same to run.
/// Convolutions are He-scaled, batch norms neutral, linear layers small.
package struct RandomCheckpoint {
    package var tensors: [(name: String, tensor: Tensor)] = []
    /// Seeded: a run's weights are the same each time.
    private var random = SplitMix64(seed: 0x5EED)

    package init() {}

    /// `count` values uniform in [-scale, scale): the generator's top 24 bits, in one loop.
    /// Not `Float.random(in:using:)` over the system generator, which is a system call a value:
    /// ResNet-50's and MA-Net's random weights took over a minute in a debug build.
    private mutating func uniform(_ count: Int, scale: Float) -> [Float] {
        var generator = random
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = (Float(generator.next() >> 40) * 0x1p-23 - 1) * scale }
            initialized = count
        }
        random = generator
        return values
    }

    /// A bias-free `k`×`k` convolution `name` and its batch norm `norm`.
    package mutating func conv(_ name: String, _ out: Int, _ inputs: Int, _ k: Int, norm: String) {
        let scale = Float(2 / Double(inputs * k * k)).squareRoot()
        tensors.append((name + ".weight", Tensor(shape: [out, inputs, k, k], scalars: uniform(out * inputs * k * k, scale: scale))))
        for (field, value) in [("weight", Float(1)), ("bias", 0), ("running_mean", 0), ("running_var", 1)] {
            tensors.append(("\(norm).\(field)", Tensor(shape: [out], repeating: value)))
        }
    }

    package mutating func linear(_ name: String, _ out: Int, _ inputs: Int) {
        tensors.append((name + ".weight", Tensor(shape: [out, inputs], scalars: uniform(out * inputs, scale: 0.05))))
        tensors.append((name + ".bias", Tensor(shape: [out])))
    }

    /// A tensor `name` of `shape`, random by its role in a PyTorch state_dict: 4-D weights
    /// He-scaled, 2-D weights small, batch-norm scales and variances 1, biases and means 0.
    package mutating func random(_ name: String, shape: [Int]) {
        let count = shape.reduce(1, *)
        let tensor: Tensor
        if shape.count >= 2 {
            let fanIn = shape.dropFirst().reduce(1, *)
            let scale = shape.count == 4 ? Float(2 / Double(fanIn)).squareRoot() : 0.05
            tensor = Tensor(shape: shape, scalars: uniform(count, scale: scale))
        } else {
            tensor = Tensor(shape: shape, repeating: name.hasSuffix(".running_var") || (name.hasSuffix(".weight") && shape.count == 1) ? 1 : 0)
        }
        tensors.append((name, tensor))
    }

    /// Written to a temporary file and read back by `load`, the real loader.
    package func loaded<Model>(_ load: (String) throws -> Model) throws(BenchmarkError) -> Model {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merd-bench-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try SafeTensorsWriter.write(tensors, to: path)
            return try load(path)
        } catch {
            throw .randomModel("\(error)")
        }
    }
}
