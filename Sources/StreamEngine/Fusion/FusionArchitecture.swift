import Foundation

/// Which arrangement of AFG blocks combines the inputs (PAPER.md, "Three fusion structures").
public enum FusionStructure: Int, Codable, Sendable, CaseIterable {
    /// One AFG over every input.
    case parallel = 1
    /// One AFG per audio layer with the visual inputs, then one AFG over those.
    case pairwise = 2
    /// One AFG over the audio layers, then one over that and the visual inputs.
    case hierarchical = 3
}

/// How emotion and valence are decoded from the fused vector.
public enum FusionHead: String, Codable, Sendable {
    /// ê = softmax(ĥW_e + b_e), v̂ = ĥW_v + b_v.
    case plain
    /// Adds ṽᵉ = tanh(êW_ev + b_ev) and v̂ = [ṽ, ṽᵉ]W_vv + b_vv (the paper's JDEV).
    case jdev
}

/// A named input feature: `HL18` (1024), `MR` (1024), `RF` (2048), or whatever a dataset has.
public struct FusionInput: Codable, Sendable, Equatable {
    /// The name as files spell it; `feature` is its parsed form.
    public var name: String
    public var size: Int

    public init(name: String, size: Int) {
        self.name = name
        self.size = size
    }

    public init(feature: FeatureName, size: Int) {
        self.init(name: feature.description, size: size)
    }

    /// The parsed name; nil for one that is not a feature name (which `FusionNetwork.validate` refuses).
    public var feature: FeatureName? { FeatureName(name) }
}

/// Everything that fixes a fusion network's shape.
public struct FusionArchitecture: Codable, Sendable, Equatable {
    public var inputs: [FusionInput]
    public var structure: FusionStructure
    public var head: FusionHead
    /// Labels in output order (MER 2023's six by default).
    public var labels: [String]
    /// Width every input is aligned to (D; the baseline's 128).
    public var alignedSize: Int
    /// Hidden width of the dimension-align and attention MLPs (the baseline's 256).
    public var hiddenSize: Int
    public var dropout: Float
    /// The network's valence output is valence / `valenceScale`: the recipe trains on
    /// MER's [-5, 5] divided by 5, the range of JDEV's tanh branch, and `FusionModel.predict`
    /// multiplies back. Models from before it was recorded have 1.
    public var valenceScale: Float

    public static let merLabels = ["neutral", "angry", "happy", "sad", "worried", "surprise"]

    public init(inputs: [FusionInput], structure: FusionStructure, head: FusionHead = .jdev, labels: [String] = merLabels,
                alignedSize: Int = 128, hiddenSize: Int = 256, dropout: Float = 0.3, valenceScale: Float = 1) {
        self.inputs = inputs
        self.structure = structure
        self.head = head
        self.labels = labels
        self.alignedSize = alignedSize
        self.hiddenSize = hiddenSize
        self.dropout = dropout
        self.valenceScale = valenceScale
    }

    enum CodingKeys: String, CodingKey {
        case inputs, structure, head, labels, alignedSize, hiddenSize, dropout, valenceScale
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputs = try container.decode([FusionInput].self, forKey: .inputs)
        structure = try container.decode(FusionStructure.self, forKey: .structure)
        head = try container.decode(FusionHead.self, forKey: .head)
        labels = try container.decode([String].self, forKey: .labels)
        alignedSize = try container.decode(Int.self, forKey: .alignedSize)
        hiddenSize = try container.decode(Int.self, forKey: .hiddenSize)
        dropout = try container.decode(Float.self, forKey: .dropout)
        valenceScale = try container.decodeIfPresent(Float.self, forKey: .valenceScale) ?? 1
        guard valenceScale.isFinite, valenceScale > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .valenceScale, in: container, debugDescription: "valenceScale must be a positive number, not \(valenceScale)")
        }
    }

    /// Speech inputs (`HL<k>`) and visual ones, for the structures that treat them apart.
    /// Structures 2 and 3 need at least one of each.
    package var audioInputs: [FusionInput] { inputs(of: .speech) }
    package var visualInputs: [FusionInput] { inputs(of: .visual) }

    /// The inputs of one modality, in the architecture's order.
    public func inputs(of modality: FeatureName.Modality) -> [FusionInput] {
        inputs.filter { $0.feature?.modality == modality }
    }
}
