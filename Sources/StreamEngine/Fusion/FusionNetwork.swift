import NeuralKit
import Foundation

/// One attention-guided feature gathering block (PAPER.md): each input through its own
/// dimension-align MLP to D, an attention MLP over their concatenation, softmax scores, and
/// the score-weighted average.
///
/// Parameter names (torch state_dict of tools/make_fusion_fixtures.py, under the block's prefix):
/// `align.<input>.net.{0,3}.{weight,bias}`, `attention.net.{0,3}.{weight,bias}`, `score.{weight,bias}`.
package struct AFGBlock {
    package let prefix: String
    package let inputs: [FusionInput]

    package func parameters(_ a: FusionArchitecture) -> [(String, [Int])] {
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
}

/// A fusion network: its AFG blocks arranged by structure, and its head.
///
/// Head parameters: `emotion.{weight,bias}` [C, D], `valence.{weight,bias}` [1, D]; JDEV adds
/// `valence_from_emotion.{weight,bias}` [1, C] and `valence_joint.{weight,bias}` [1, 2]. The
/// loss's `rho` [2] (δ = softplus(ρ)) is trained with them.
package struct FusionNetwork {
    package let architecture: FusionArchitecture

    package init(architecture: FusionArchitecture) { self.architecture = architecture }

    /// The AFG blocks, the last one producing the fused vector.
    package var blocks: [AFGBlock] {
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
    package var parameterShapes: [(String, [Int])] {
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

    package func validate() throws(FusionError) {
        let a = architecture
        guard !a.inputs.isEmpty, Set(a.inputs.map(\.name)).count == a.inputs.count, a.inputs.allSatisfy({ $0.size > 0 }) else {
            throw .invalidArchitecture("inputs must be non-empty, distinctly named, of positive size")
        }
        if let stray = a.inputs.first(where: { $0.feature == nil }) {
            throw .invalidArchitecture("input '\(stray.name)' is not a feature name (HL<k> for a speech layer, or a visual feature such as MR)")
        }
        if a.structure != .parallel && (a.audioInputs.isEmpty || a.visualInputs.isEmpty) {
            throw .invalidArchitecture("structure \(a.structure.rawValue) needs speech inputs (HL…) and visual inputs; use structure 1 for one modality")
        }
        guard a.labels.count >= 2 else { throw .invalidArchitecture("at least two labels") }
    }
}
