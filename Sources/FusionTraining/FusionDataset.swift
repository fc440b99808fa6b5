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

    /// Reads a features safetensors file (one [clips × size] tensor per input) and a MER 2023
    /// labels CSV (`name,discrete,valence`; for prediction `name` alone will do).
    public static func load(features path: String, labels csvPath: String, labelNames: [String] = FusionArchitecture.merLabels,
                            requireLabels: Bool = true) throws(FusionError) -> FusionDataset {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .invalidDataset(file: path, reason: error.description) }
        let (names, labels, valence) = try readLabels(csv: csvPath, labelNames: labelNames, requireLabels: requireLabels)
        var features: [String: [Float]] = [:], sizes: [String: Int] = [:]
        for entry in file.entries {
            guard entry.shape.count == 2, entry.shape[0] == names.count else {
                throw .invalidDataset(file: path, reason: "tensor '\(entry.name)' is \(entry.shape); expected [\(names.count) clips, size] to match \(csvPath)")
            }
            do { features[entry.name] = try file.tensor(entry.name).scalars } catch { throw .invalidDataset(file: path, reason: error.description) }
            sizes[entry.name] = entry.shape[1]
        }
        guard !features.isEmpty else { throw .invalidDataset(file: path, reason: "no feature tensors") }
        return FusionDataset(names: names, labels: labels, valence: valence, features: features, sizes: sizes)
    }

    /// A MER 2023 labels CSV (`name,discrete,valence`; for prediction `name` alone will do):
    /// the clip names in order, the label index and the valence of each.
    public static func readLabels(csv csvPath: String, labelNames: [String] = FusionArchitecture.merLabels,
                                  requireLabels: Bool = true) throws(FusionError) -> (names: [String], labels: [Int], valence: [Float]) {
        guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
            throw .invalidDataset(file: csvPath, reason: "cannot read the labels CSV")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
              header.first == "name" else {
            throw .invalidDataset(file: csvPath, reason: "the first line must be the header name,discrete,valence")
        }
        lines.removeFirst()
        let discreteColumn = header.firstIndex(of: "discrete"), valenceColumn = header.firstIndex(of: "valence")
        if requireLabels && (discreteColumn == nil || valenceColumn == nil) {
            throw .invalidDataset(file: csvPath, reason: "training and evaluation need the columns discrete and valence")
        }
        var names: [String] = [], labels: [Int] = [], valence: [Float] = []
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == header.count else {
                throw .invalidDataset(file: csvPath, reason: "line \(number + 2) has \(fields.count) fields, the header \(header.count)")
            }
            names.append(fields[0])
            if let column = discreteColumn, requireLabels {
                guard let label = labelNames.firstIndex(of: fields[column].lowercased()) else {
                    throw .invalidDataset(file: csvPath, reason: "line \(number + 2): label '\(fields[column])' is not one of \(labelNames.joined(separator: ", "))")
                }
                labels.append(label)
            }
            if let column = valenceColumn, requireLabels {
                guard let value = Float(fields[column]), value.isFinite else {
                    throw .invalidDataset(file: csvPath, reason: "line \(number + 2): valence '\(fields[column])' is not a number")
                }
                valence.append(value)
            }
        }
        return (names, labels, valence)
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
