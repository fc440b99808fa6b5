import Foundation
import NeuralKit

/// A trained fusion network: its architecture and parameter values. Predicts emotion
/// probabilities and valence for a batch of clips' features.
public struct FusionModel: Sendable {
    public let architecture: FusionArchitecture
    /// Parameter values by name (FusionNetwork's names), row-major.
    public let values: [String: [Float]]

    public init(architecture: FusionArchitecture, values: [String: [Float]]) throws(FusionError) {
        let network = FusionNetwork(architecture: architecture)
        try network.validate()
        for (name, shape) in network.parameterShapes {
            guard let value = values[name] else { throw .invalidArchitecture("missing parameter \(name)") }
            guard value.count == shape.reduce(1, *) else {
                throw .invalidArchitecture("parameter \(name) has \(value.count) values, shape \(shape) needs \(shape.reduce(1, *))")
            }
        }
        self.architecture = architecture
        self.values = values
    }

    /// Emotion probabilities [rows][C] and valence [rows] for `features` (input name →
    /// rows × size values), dropout off.
    public func predict(_ features: [String: [Float]], rows: Int) -> (probabilities: [[Float]], valence: [Float]) {
        let (emotion, output) = FusionNetwork(architecture: architecture).infer(features, rows: rows, values: values)
        let c = architecture.labels.count
        let scale = architecture.valenceScale
        return ((0..<rows).map { Array(emotion[($0 * c)..<(($0 + 1) * c)]) }, scale == 1 ? output : output.map { $0 * scale })
    }

    /// δ₁, δ₂ of the uncertainty weighting as trained.
    public var uncertainties: (emotion: Float, valence: Float) {
        let rho = values["rho"]!
        let softplus = { (x: Float) -> Float in Foundation.log1p(Foundation.exp(x)) }
        return (softplus(rho[0]), softplus(rho[1]))
    }
}

/// Several fusion models combined as the paper does: within a structure, the fold models'
/// predictions averaged; across structures, ê = Σ kᵢ êᵢ and v̂ = Σ kᵢ v̂ᵢ with Σ kᵢ = 1.
public struct FusionEnsemble: Sendable {
    public struct Member: Sendable {
        public let structure: FusionStructure
        public let weight: Float
        public let folds: [FusionModel]

        public init(structure: FusionStructure, weight: Float, folds: [FusionModel]) {
            self.structure = structure
            self.weight = weight
            self.folds = folds
        }
    }

    public let members: [Member]
    /// The modality dropout the members were trained with: above 0, they learnt to decode
    /// with one modality zeroed, so inference may zero a missing one (a face out of view).
    public let modalityDropout: Float
    /// Whether valence was trained (false for a corpus without valence labels, RAVDESS say):
    /// then the valence output is untrained and callers must not report it.
    public let valenceTrained: Bool

    public init(members: [Member], modalityDropout: Float = 0, valenceTrained: Bool = true) throws(FusionError) {
        guard !members.isEmpty, members.allSatisfy({ !$0.folds.isEmpty }) else { throw .invalidArchitecture("an ensemble needs models") }
        let total = members.map(\.weight).reduce(0, +)
        guard abs(total - 1) < 1e-4, members.allSatisfy({ $0.weight >= 0 }) else {
            throw .invalidArchitecture("ensemble weights must be ≥ 0 and sum to 1 (got \(members.map(\.weight)))")
        }
        let labels = members[0].folds[0].architecture.labels
        guard members.allSatisfy({ $0.folds.allSatisfy { $0.architecture.labels == labels } }) else {
            throw .invalidArchitecture("every model of an ensemble must have the same labels")
        }
        self.members = members
        self.modalityDropout = modalityDropout
        self.valenceTrained = valenceTrained
    }

    public var labels: [String] { members[0].folds[0].architecture.labels }

    /// Whether the model may decode with a modality missing (its inputs zeroed).
    public var decodesWithMissingModality: Bool { modalityDropout > 0 }

    /// The inputs any member reads, with their sizes.
    public var inputs: [FusionInput] {
        var seen: [String: FusionInput] = [:]
        for member in members { for fold in member.folds { for input in fold.architecture.inputs { seen[input.name] = input } } }
        return seen.values.sorted { $0.name < $1.name }
    }

    /// The inputs of one modality any member reads.
    public func inputs(of modality: FeatureName.Modality) -> [FusionInput] {
        inputs.filter { $0.feature?.modality == modality }
    }

    public func predict(_ features: [String: [Float]], rows: Int) -> (probabilities: [[Float]], valence: [Float]) {
        let c = labels.count
        var probabilities = [[Float]](repeating: [Float](repeating: 0, count: c), count: rows)
        var valence = [Float](repeating: 0, count: rows)
        for member in members {
            let share = member.weight / Float(member.folds.count)
            for fold in member.folds {
                let (p, v) = fold.predict(features, rows: rows)
                for r in 0..<rows {
                    for k in 0..<c { probabilities[r][k] += share * p[r][k] }
                    valence[r] += share * v[r]
                }
            }
        }
        return (probabilities, valence)
    }
}
