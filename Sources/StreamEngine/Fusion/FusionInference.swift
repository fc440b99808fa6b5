import Foundation
import NeuralKit

/// The fusion network's forward pass for serving: row-major buffers through the same layer
/// math as training's `Tape` (linear as torch.nn.Linear, ReLU, softmax, the AFG's weighted
/// average, JDEV's tanh branch), with dropout the identity. No nodes, no gradients, no
/// backward closures: an utterance's decode allocates only its activations.
extension FusionNetwork {
    /// Emotion probabilities [rows × C] and valence [rows] for `features` (input name →
    /// rows × size values) under parameter `values` (FusionNetwork's names).
    package func infer(_ features: [String: [Float]], rows: Int, values p: [String: [Float]]) -> (emotion: [Float], valence: [Float]) {
        let a = architecture
        var available = features.mapValues { Activations(rows: rows, columns: rows == 0 ? 0 : $0.count / rows, values: $0) }
        var fused: Activations?
        for (index, block) in blocks.enumerated() {
            let output = block.infer(available, values: p)
            switch (a.structure, index == blocks.count - 1) {
            case (_, true): fused = output
            case (.pairwise, false): available["pair\(index)"] = output
            case (.hierarchical, false): available["acoustic"] = output
            default: break
            }
        }
        let h = fused!
        var emotion = h.linear(p["emotion.weight"]!, p["emotion.bias"]!)
        emotion.softmax()
        let fromFeatures = h.linear(p["valence.weight"]!, p["valence.bias"]!)
        guard a.head == .jdev else { return (emotion.values, fromFeatures.values) }
        var fromEmotion = emotion.linear(p["valence_from_emotion.weight"]!, p["valence_from_emotion.bias"]!)
        fromEmotion.values = fromEmotion.values.map { Foundation.tanh($0) }
        let joint = Activations.concatenate([fromFeatures, fromEmotion]).linear(p["valence_joint.weight"]!, p["valence_joint.bias"]!)
        return (emotion.values, joint.values)
    }
}

extension AFGBlock {
    /// The block's fused vector [rows × D] (Tape's `AFGBlock.forward` without dropout).
    func infer(_ available: [String: Activations], values p: [String: [Float]]) -> Activations {
        func mlp(_ name: String, _ x: Activations) -> Activations {
            var h = x.linear(p["\(name).0.weight"]!, p["\(name).0.bias"]!)
            h.relu()
            h = h.linear(p["\(name).3.weight"]!, p["\(name).3.bias"]!)
            h.relu()
            return h
        }
        let aligned = inputs.map { mlp("\(prefix)align.\($0.name).net", available[$0.name]!) }
        var scores = mlp("\(prefix)attention.net", .concatenate(aligned)).linear(p["\(prefix)score.weight"]!, p["\(prefix)score.bias"]!)
        scores.softmax()
        return .weightedSum(aligned, scores: scores)
    }
}

/// A [rows × columns] row-major matrix of activations, and the forward math of the fusion
/// network's layers on it: serving runs it directly, and the training `Tape` records the same
/// functions' results with their gradients, so the two paths cannot drift apart.
package struct Activations {
    package let rows: Int
    package let columns: Int
    package var values: [Float]

    package init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "\(values.count) values for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// x Wᵀ + b with W [out × in] as torch.nn.Linear stores it.
    package func linear(_ weight: [Float], _ bias: [Float], on backend: ComputeBackend = Compute.current.backend) -> Activations {
        let outputs = bias.count
        precondition(weight.count == outputs * columns, "linear weight of \(weight.count) values for \(columns) → \(outputs)")
        var y = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows { for o in 0..<outputs { y[r * outputs + o] = bias[o] } }
        values.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(on: backend, transposeB: true, m: rows, n: outputs, k: columns, a: x.baseAddress!, lda: columns,
                                  b: w.baseAddress!, ldb: columns, beta: 1, c: c.baseAddress!, ldc: outputs)
                }
            }
        }
        return Activations(rows: rows, columns: outputs, values: y)
    }

    package mutating func relu() {
        values.withUnsafeMutableBufferPointer { Activation.relu($0) }
    }

    package mutating func softmax() {
        values.withUnsafeMutableBufferPointer { Activation.softmax($0.baseAddress!, rows: rows, width: columns) }
    }

    /// Columns side by side: [x₁ | x₂ | …].
    package static func concatenate(_ parts: [Activations]) -> Activations {
        let rows = parts[0].rows
        let columns = parts.map(\.columns).reduce(0, +)
        var y = [Float](repeating: 0, count: rows * columns)
        var offset = 0
        for part in parts {
            for r in 0..<rows { for c in 0..<part.columns { y[r * columns + offset + c] = part.values[r * part.columns + c] } }
            offset += part.columns
        }
        return Activations(rows: rows, columns: columns, values: y)
    }

    /// Σₙ scores[:, n] · parts[n], per row: the AFG's weighted average.
    package static func weightedSum(_ parts: [Activations], scores: Activations) -> Activations {
        let (rows, width) = (parts[0].rows, parts[0].columns)
        var y = [Float](repeating: 0, count: rows * width)
        for (n, part) in parts.enumerated() {
            for r in 0..<rows {
                let weight = scores.values[r * parts.count + n]
                for c in 0..<width { y[r * width + c] += weight * part.values[r * width + c] }
            }
        }
        return Activations(rows: rows, columns: width, values: y)
    }
}
