import Foundation
import NeuralKit
import StreamEngine

// The fusion network's differentiable forward pass: the same layer math as
// `FusionNetwork.infer` (StreamEngine), recorded on a `Tape` so the trainer can propagate
// gradients. Serving never comes here.

extension AFGBlock {
    /// Returns the fused vector and the attention scores.
    func forward(_ values: [String: Node], tape: Tape, parameters p: [String: Parameter], architecture a: FusionArchitecture)
        -> (fused: Node, scores: Node)
    {
        func block(_ name: String, _ x: Node) -> Node {
            var h = tape.dropout(tape.relu(tape.linear(x, weight: p["\(name).0.weight"]!, bias: p["\(name).0.bias"]!)), probability: a.dropout)
            h = tape.dropout(tape.relu(tape.linear(h, weight: p["\(name).3.weight"]!, bias: p["\(name).3.bias"]!)), probability: a.dropout)
            return h
        }
        let aligned = inputs.map { block("\(prefix)align.\($0.name).net", values[$0.name]!) }
        let attended = block("\(prefix)attention.net", tape.concatenate(aligned))
        let scores = tape.softmax(tape.linear(attended, weight: p["\(prefix)score.weight"]!, bias: p["\(prefix)score.bias"]!))
        return (tape.weightedSum(aligned, weights: scores), scores)
    }
}

extension FusionNetwork {
    /// Initial parameters: torch.nn.Linear's default (uniform ±1/√fan_in), ρ = softplus⁻¹(1).
    func initialParameters(seed: UInt64) -> [String: Parameter] {
        var random = SplitMix64(seed: seed)
        var result: [String: Parameter] = [:]
        let shapes = parameterShapes
        for (index, (name, shape)) in shapes.enumerated() {
            let count = shape.reduce(1, *)
            if name == "rho" {
                result[name] = Parameter(name: name, shape: shape, value: [0.5413, 0.5413])
                continue
            }
            // A bias takes the bound of its weight (the weight comes just before it).
            let weightShape = name.hasSuffix(".bias") ? shapes[index - 1].1 : shape
            let bound = 1 / Float(weightShape.last!).squareRoot()
            // Every 2-D parameter is a linear layer's weight: held input-major for training's
            // products (`Parameter.inputMajor`); the values drawn are the same either way.
            result[name] = Parameter(name: name, shape: shape, value: (0..<count).map { _ in Float.random(in: -bound...bound, using: &random) },
                                     inputMajor: shape.count == 2)
        }
        return result
    }

    /// Forward pass over a mini-batch: emotion probabilities [B × C] and valence [B × 1] (in
    /// units of `architecture.valenceScale`). JDEV's feature branch ṽ is dropped per clip with
    /// `valenceBranchDropout` when the tape trains (see `FusionTrainingOptions`).
    func forward(_ features: [String: Node], tape: Tape, parameters p: [String: Parameter],
                 valenceBranchDropout: Float = 0) -> (emotion: Node, valence: Node) {
        let a = architecture
        var values = features
        var fused: Node?
        for (index, block) in blocks.enumerated() {
            let output = block.forward(values, tape: tape, parameters: p, architecture: a).fused
            switch (a.structure, index == blocks.count - 1) {
            case (_, true): fused = output
            case (.pairwise, false): values["pair\(index)"] = output
            case (.hierarchical, false): values["acoustic"] = output
            default: break
            }
        }
        let h = fused!
        let emotion = tape.softmax(tape.linear(h, weight: p["emotion.weight"]!, bias: p["emotion.bias"]!))
        let fromFeatures = tape.linear(h, weight: p["valence.weight"]!, bias: p["valence.bias"]!)
        guard a.head == .jdev else { return (emotion, fromFeatures) }
        let branch = tape.dropout(fromFeatures, probability: valenceBranchDropout)  // [B × 1]: one draw per clip
        let fromEmotion = tape.tanh(tape.linear(emotion, weight: p["valence_from_emotion.weight"]!, bias: p["valence_from_emotion.bias"]!))
        let joint = tape.linear(tape.concatenate([branch, fromEmotion]), weight: p["valence_joint.weight"]!, bias: p["valence_joint.bias"]!)
        return (emotion, joint)
    }
}

