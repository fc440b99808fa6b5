import Foundation
import NeuralKit

/// A fusion model on disk: `model.json` (kind, architecture of each member, ensemble weights,
/// label order, valence range) and `model.safetensors` with each fold's parameters under
/// `s<structure>.fold<i>.<name>`.
public enum FusionModelFile {
    struct Manifest: Codable {
        struct Member: Codable {
            var architecture: FusionArchitecture
            var weight: Float
            var folds: Int
        }
        var kind: String
        var schema: Int
        var labels: [String]
        var valenceRange: [Float]
        var members: [Member]
        /// Absent in models from before it was recorded: read as 0.
        var modalityDropout: Float?
        /// Absent in models from before it was recorded: read as true.
        var valenceTrained: Bool?

        enum CodingKeys: String, CodingKey {
            case kind, schema, labels, members
            case valenceRange = "valence_range"
            case modalityDropout = "modality_dropout"
            case valenceTrained = "valence_trained"
        }
    }

    /// A fold's parameter in the weights file: `s<structure>.fold<i>.<name>`.
    static func key(_ structure: FusionStructure, fold: Int, _ name: String) -> String {
        "s\(structure.rawValue).fold\(fold).\(name)"
    }

    public static func save(_ ensemble: FusionEnsemble, to directory: String, metadata: [String: String] = [:]) throws(FusionError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .invalidModel(file: directory, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        for member in ensemble.members {
            for (f, fold) in member.folds.enumerated() {
                let network = FusionNetwork(architecture: fold.architecture)
                for (name, shape) in network.parameterShapes {
                    tensors.append((key(member.structure, fold: f, name), Tensor(shape: shape, scalars: fold.values[name]!)))
                }
            }
        }
        var manifest = Manifest(kind: "fusion", schema: 1, labels: ensemble.labels, valenceRange: [-5, 5],
                                members: ensemble.members.map { .init(architecture: $0.folds[0].architecture, weight: $0.weight, folds: $0.folds.count) },
                                modalityDropout: ensemble.modalityDropout)
        manifest.valenceTrained = ensemble.valenceTrained
        do {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: directory + "/model.safetensors")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: directory + "/model.json"))
        } catch let error as SafeTensorsError {
            throw .invalidModel(file: directory, reason: error.description)
        } catch {
            throw .invalidModel(file: directory + "/model.json", reason: error.localizedDescription)
        }
    }

    public static func load(_ directory: String) throws(FusionError) -> FusionEnsemble {
        let manifestPath = directory + "/model.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw .invalidModel(file: manifestPath, reason: "not found (train one with `merd train`)")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw .invalidModel(file: manifestPath, reason: "not a fusion manifest (\(error))")
        }
        guard manifest.kind == "fusion", manifest.schema == 1 else {
            throw .invalidModel(file: manifestPath, reason: "kind \(manifest.kind) schema \(manifest.schema); expected fusion schema 1")
        }
        let weightsPath = directory + "/model.safetensors"
        var checkpoint = try StrictCheckpoint(path: weightsPath) { error -> FusionError in
            if case .unknownTensors(_, let names) = error {
                return .invalidModel(file: weightsPath, reason: "tensors the manifest does not describe: \(names.prefix(5))")
            }
            return .invalidModel(file: weightsPath, reason: error.description)
        }
        var members: [FusionEnsemble.Member] = []
        for member in manifest.members {
            let structure = member.architecture.structure
            var folds: [FusionModel] = []
            for f in 0..<member.folds {
                var values: [String: [Float]] = [:]
                for (name, shape) in FusionNetwork(architecture: member.architecture).parameterShapes {
                    values[name] = try checkpoint.tensor(key(structure, fold: f, name), shape: shape).scalars
                }
                folds.append(try FusionModel(architecture: member.architecture, values: values))
            }
            members.append(.init(structure: structure, weight: member.weight, folds: folds))
        }
        try checkpoint.finish()
        return try FusionEnsemble(members: members, modalityDropout: manifest.modalityDropout ?? 0, valenceTrained: manifest.valenceTrained ?? true)
    }
}
