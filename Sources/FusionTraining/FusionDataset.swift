import Foundation
import StreamEngine
import NeuralKit

/// Clips' features and labels: for each input a [clips × size] matrix (rows in the order of
/// the labels CSV), the discrete label index and the valence of each clip.
public struct FusionDataset: Sendable {
    public var names: [String]
    /// Label index per clip (nil rows: unlabelled, for prediction).
    public var labels: [Int]
    public var valence: [Float]
    /// Input name → rows × size values.
    public var features: [String: [Float]]
    public var sizes: [String: Int]

    public var count: Int { names.count }

    public init(names: [String], labels: [Int], valence: [Float], features: [String: [Float]], sizes: [String: Int]) {
        self.names = names
        self.labels = labels
        self.valence = valence
        self.features = features
        self.sizes = sizes
    }

    /// The inputs present, sorted by name.
    public var inputs: [FusionInput] { sizes.keys.sorted().map { FusionInput(name: $0, size: sizes[$0]!) } }

    /// Reads a features safetensors file (one [clips × size] tensor per input, each named as a
    /// `FeatureName`) and a MER 2023 labels CSV (`name,discrete,valence`; for prediction `name`
    /// alone will do) whose rows are the tensors' rows.
    public static func load(features path: String, labels csvPath: String, labelNames: [String] = FusionArchitecture.merLabels,
                            requireLabels: Bool = true) throws(FusionError) -> FusionDataset {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .invalidDataset(file: path, reason: error.description) }
        let table = try LabelsCSV.read(csvPath, labelNames: labelNames, requireLabels: requireLabels)
        var features: [String: [Float]] = [:], sizes: [String: Int] = [:]
        for entry in file.entries {
            guard FeatureName(entry.name) != nil else {
                throw .invalidDataset(file: path, reason: "tensor '\(entry.name)' is not a feature name (HL<k> for a speech layer, or a visual feature such as MR)")
            }
            guard entry.shape.count == 2, entry.shape[0] == table.rows.count else {
                throw .invalidDataset(file: path, reason: "tensor '\(entry.name)' is \(entry.shape); expected [\(table.rows.count) clips, size] to match \(csvPath)")
            }
            do { features[entry.name] = try file.tensor(entry.name).scalars } catch { throw .invalidDataset(file: path, reason: error.description) }
            sizes[entry.name] = entry.shape[1]
        }
        guard !features.isEmpty else { throw .invalidDataset(file: path, reason: "no feature tensors") }
        return FusionDataset(names: table.names, labels: table.labels, valence: table.valence, features: features, sizes: sizes)
    }

    /// The clips at `indices`, in that order.
    public func subset(_ indices: [Int]) -> FusionDataset {
        var features: [String: [Float]] = [:]
        for (name, values) in self.features {
            let size = sizes[name]!
            var rows = [Float]()
            rows.reserveCapacity(indices.count * size)
            for i in indices { rows += values[(i * size)..<((i + 1) * size)] }
            features[name] = rows
        }
        return FusionDataset(names: indices.map { names[$0] }, labels: labels.isEmpty ? [] : indices.map { labels[$0] },
                             valence: valence.isEmpty ? [] : indices.map { valence[$0] }, features: features, sizes: sizes)
    }
}
