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
        /// The weights file's sha256, checked at load by the daemon (`ModelIntegrity`).
        var files: [File]?
        /// How the model was made, when `merd train --dataset` made it.
        var training: FusionTrainingRecord?

        struct File: Codable {
            var name: String
            var sha256: String
        }

        enum CodingKeys: String, CodingKey {
            case kind, schema, labels, members, files, training
            case valenceRange = "valence_range"
            case modalityDropout = "modality_dropout"
            case valenceTrained = "valence_trained"
        }
    }

    /// A fold's parameter in the weights file: `s<structure>.fold<i>.<name>`.
    static func key(_ structure: FusionStructure, fold: Int, _ name: String) -> String {
        "s\(structure.rawValue).fold\(fold).\(name)"
    }

    /// Writes `model.safetensors` and `model.json` into `directory`. With `digest` (the sha256
    /// of a file, by path), the manifest lists the weights file's so a loader can check it;
    /// `training` records how the model was made.
    public static func save(_ ensemble: FusionEnsemble, to directory: String, metadata: [String: String] = [:],
                            training: FusionTrainingRecord? = nil, digest: (String) -> String? = { _ in nil }) throws(FusionError) {
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
        manifest.training = training
        do {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: directory + "/model.safetensors")
            if let sha256 = digest(directory + "/model.safetensors") { manifest.files = [.init(name: "model.safetensors", sha256: sha256)] }
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

/// How a fusion model was made (`merd train --dataset`), kept in its `model.json` under
/// `training`: the corpus and its label map, the feature models, the scores out of fold.
public struct FusionTrainingRecord: Codable, Sendable, Equatable {
    public struct FeatureModel: Codable, Sendable, Equatable {
        public var role: String
        public var name: String
        public var sha256: String

        public init(role: String, name: String, sha256: String) {
            self.role = role
            self.name = name
            self.sha256 = sha256
        }
    }

    public struct Scores: Codable, Sendable, Equatable {
        public var weightedF1: Double
        /// Nil when the corpus has no valence.
        public var valenceMSE: Double?
        public var combined: Double

        public init(weightedF1: Double, valenceMSE: Double?, combined: Double) {
            self.weightedF1 = weightedF1
            self.valenceMSE = valenceMSE
            self.combined = combined
        }

        enum CodingKeys: String, CodingKey {
            case weightedF1 = "weighted_f1"
            case valenceMSE = "valence_mse"
            case combined
        }
    }

    public var corpus: String?
    public var source: String?
    public var clips: Int
    public var labelMap: [String: String]?
    public var featureModels: [FeatureModel]
    public var layers: [Int]
    public var every: Int
    public var epochs: Int
    public var folds: Int
    /// Per structure ("1", "2", "3"): each fold's validation scores.
    public var foldScores: [String: [Scores]]
    /// The ensemble's out-of-fold scores.
    public var outOfFold: Scores
    public var generator: String
    public var date: String

    public init(corpus: String?, source: String?, clips: Int, labelMap: [String: String]?, featureModels: [FeatureModel], layers: [Int],
                every: Int, epochs: Int, folds: Int, foldScores: [String: [Scores]], outOfFold: Scores, generator: String, date: String) {
        self.corpus = corpus
        self.source = source
        self.clips = clips
        self.labelMap = labelMap
        self.featureModels = featureModels
        self.layers = layers
        self.every = every
        self.epochs = epochs
        self.folds = folds
        self.foldScores = foldScores
        self.outOfFold = outOfFold
        self.generator = generator
        self.date = date
    }

    enum CodingKeys: String, CodingKey {
        case corpus, source, clips, layers, every, epochs, folds, generator, date
        case labelMap = "label_map"
        case featureModels = "feature_models"
        case foldScores = "fold_scores"
        case outOfFold = "out_of_fold"
    }
}
