import NeuralKit
import Foundation

/// One attention-guided feature gathering block (PAPER.md): each input through its own
/// dimension-align MLP to D, an attention MLP over their concatenation, softmax scores, and
/// the score-weighted average.
///
/// Parameter names (torch state_dict of tools/make_fusion_fixtures.py, under the block's prefix):
/// `align.<input>.net.{0,3}.{weight,bias}`, `attention.net.{0,3}.{weight,bias}`, `score.{weight,bias}`.
struct AFGBlock {
    let prefix: String
    let inputs: [FusionInput]

    func parameters(_ a: FusionArchitecture) -> [(String, [Int])] {
        var shapes: [(String, [Int])] = []
        for input in inputs {
            shapes += mlp("\(prefix)align.\(input.name).net", input.size, a.hiddenSize, a.alignedSize)
        }
        shapes += mlp("\(prefix)attention.net", inputs.count * a.alignedSize, a.hiddenSize, a.alignedSize)
        shapes += [("\(prefix)score.weight", [inputs.count, a.alignedSize]), ("\(prefix)score.bias", [inputs.count])]
        return shapes
    }

    private func mlp(_ name: String, _ input: Int, _ hidden: Int, _ output: Int) -> [(String, [Int])] {
        [("\(name).0.weight", [hidden, input]), ("\(name).0.bias", [hidden]),
         ("\(name).3.weight", [output, hidden]), ("\(name).3.bias", [output])]
    }

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

/// A fusion network: its AFG blocks arranged by structure, and its head.
///
/// Head parameters: `emotion.{weight,bias}` [C, D], `valence.{weight,bias}` [1, D]; JDEV adds
/// `valence_from_emotion.{weight,bias}` [1, C] and `valence_joint.{weight,bias}` [1, 2]. The
/// loss's `rho` [2] (δ = softplus(ρ)) is trained with them.
struct FusionNetwork {
    let architecture: FusionArchitecture

    /// The AFG blocks, the last one producing the fused vector.
    var blocks: [AFGBlock] {
        let a = architecture
        let d = a.alignedSize
        switch a.structure {
        case .parallel:
            return [AFGBlock(prefix: "", inputs: a.inputs)]
        case .pairwise:
            let pairs = a.audioInputs.enumerated().map { i, audio in AFGBlock(prefix: "pairs.\(i).", inputs: [audio] + a.visualInputs) }
            let top = AFGBlock(prefix: "top.", inputs: pairs.indices.map { FusionInput(name: "pair\($0)", size: d) })
            return pairs + [top]
        case .hierarchical:
            let acoustic = AFGBlock(prefix: "acoustic.", inputs: a.audioInputs)
            let top = AFGBlock(prefix: "top.", inputs: [FusionInput(name: "acoustic", size: d)] + a.visualInputs)
            return [acoustic, top]
        }
    }

    /// Every parameter's name and shape, in a fixed order.
    var parameterShapes: [(String, [Int])] {
        let a = architecture
        var shapes = blocks.flatMap { $0.parameters(a) }
        let c = a.labels.count, d = a.alignedSize
        shapes += [("emotion.weight", [c, d]), ("emotion.bias", [c]), ("valence.weight", [1, d]), ("valence.bias", [1])]
        if a.head == .jdev {
            shapes += [("valence_from_emotion.weight", [1, c]), ("valence_from_emotion.bias", [1]),
                       ("valence_joint.weight", [1, 2]), ("valence_joint.bias", [1])]
        }
        shapes.append(("rho", [2]))
        return shapes
    }

    func validate() throws(FusionError) {
        let a = architecture
        guard !a.inputs.isEmpty, Set(a.inputs.map(\.name)).count == a.inputs.count, a.inputs.allSatisfy({ $0.size > 0 }) else {
            throw .invalidArchitecture("inputs must be non-empty, distinctly named, of positive size")
        }
        if a.structure != .parallel && (a.audioInputs.isEmpty || a.visualInputs.isEmpty) {
            throw .invalidArchitecture("structure \(a.structure.rawValue) needs audio inputs (HL…) and other inputs; use structure 1 for one modality")
        }
        guard a.labels.count >= 2 else { throw .invalidArchitecture("at least two labels") }
    }

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
            result[name] = Parameter(name: name, shape: shape, value: (0..<count).map { _ in Float.random(in: -bound...bound, using: &random) })
        }
        return result
    }

    /// Forward pass over a mini-batch: emotion probabilities [B × C] and valence [B × 1].
    func forward(_ features: [String: Node], tape: Tape, parameters p: [String: Parameter]) -> (emotion: Node, valence: Node) {
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
        let fromEmotion = tape.tanh(tape.linear(emotion, weight: p["valence_from_emotion.weight"]!, bias: p["valence_from_emotion.bias"]!))
        let joint = tape.linear(tape.concatenate([fromFeatures, fromEmotion]), weight: p["valence_joint.weight"]!, bias: p["valence_joint.bias"]!)
        return (emotion, joint)
    }
}

/// What is wrong with a fusion model, dataset or training request.
public enum FusionError: Error, Equatable, CustomStringConvertible {
    case invalidArchitecture(String)
    case invalidModel(file: String, reason: String)
    case invalidDataset(file: String, reason: String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let reason): return "fusion architecture: \(reason)"
        case .invalidModel(let file, let reason): return "\(file): \(reason)"
        case .invalidDataset(let file, let reason): return "\(file): \(reason)"
        }
    }
}
