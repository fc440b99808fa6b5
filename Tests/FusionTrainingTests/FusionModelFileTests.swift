import Foundation
@testable import FusionTraining
@testable import StreamEngine
import TestSupport
import Testing

@Suite("Fusion model files load strictly")
struct FusionModelFileTests {
    /// A saved one-member ensemble of two folds, in a directory removed afterwards.
    final class SavedModel {
        let directory = NSTemporaryDirectory() + "merd-fusion-\(UUID().uuidString)"
        let ensemble: FusionEnsemble
        var weightsPath: String { directory + "/model.safetensors" }

        init() throws {
            let architecture = FusionArchitecture(inputs: [FusionInput(name: "HL3", size: 4), FusionInput(name: "MR", size: 3)],
                                                  structure: .pairwise, alignedSize: 4, hiddenSize: 6)
            let network = FusionNetwork(architecture: architecture)
            let folds = try (0..<2).map { fold in
                let parameters = network.initialParameters(seed: UInt64(fold + 1))
                return try FusionModel(architecture: architecture, values: parameters.mapValues(\.shapedValue))
            }
            ensemble = try FusionEnsemble(members: [.init(structure: .pairwise, weight: 1, folds: folds)])
            try FusionModelFile.save(ensemble, to: directory)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func rewrite(_ change: (inout [(name: String, tensor: Tensor)]) -> Void) throws {
            let file = try SafeTensorsFile(path: weightsPath)
            var tensors = try file.names.map { (name: $0, tensor: try file.tensor($0)) }
            change(&tensors)
            try SafeTensorsWriter.write(tensors, to: weightsPath)
        }
    }

    @Test("a saved model loads back with every fold's values")
    func roundTrip() throws {
        let saved = try SavedModel()
        let loaded = try FusionModelFile.load(saved.directory)
        #expect(loaded.members.count == 1 && loaded.members[0].folds.count == 2)
        for (a, b) in zip(loaded.members[0].folds, saved.ensemble.members[0].folds) { #expect(a.values == b.values) }
    }

    @Test("what a model says of itself survives the file: valence scale, whether valence was trained, the training record; a model from before has scale 1 and trained valence")
    func manifestFields() throws {
        let directory = NSTemporaryDirectory() + "merd-fusion-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let architecture = FusionArchitecture(inputs: [FusionInput(name: "HL3", size: 4)], structure: .parallel, alignedSize: 4, hiddenSize: 6,
                                              valenceScale: 5)
        let values = FusionNetwork(architecture: architecture).initialParameters(seed: 3).mapValues(\.shapedValue)
        let ensemble = try FusionEnsemble(members: [.init(structure: .parallel, weight: 1, folds: [try FusionModel(architecture: architecture, values: values)])],
                                          valenceTrained: false)
        let record = FusionTrainingRecord(corpus: "ravdess", source: "/corpora/RAVDESS", clips: 8, labelMap: ["calm": "neutral"],
                                          featureModels: [.init(role: "speech", name: "hubert-large", sha256: String(repeating: "a", count: 64))],
                                          layers: [18, 19, 20], every: 1, epochs: 3, folds: 2, foldScores: ["1": []],
                                          outOfFold: .init(weightedF1: 0.5, valenceMSE: nil, combined: 0.5), generator: "merd test", date: "2026-11-30")
        try FusionModelFile.save(ensemble, to: directory, training: record, digest: { _ in String(repeating: "b", count: 64) })
        let loaded = try FusionModelFile.load(directory)
        #expect(!loaded.valenceTrained && loaded.members[0].folds[0].architecture.valenceScale == 5)
        let features = ["HL3": [Float](repeating: 0.3, count: 4)]
        #expect(loaded.predict(features, rows: 1).valence == ensemble.predict(features, rows: 1).valence)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/model.json"))) as? [String: Any]
        #expect(manifest?["valence_trained"] as? Bool == false)
        #expect(((manifest?["files"] as? [[String: Any]])?.first?["sha256"] as? String)?.hasPrefix("bbb") == true)
        #expect((manifest?["training"] as? [String: Any])?["corpus"] as? String == "ravdess")
        // Before these fields existed: no valence_trained, no valenceScale.
        var older = try #require(manifest)
        older["valence_trained"] = nil
        var members = try #require(older["members"] as? [[String: Any]])
        var memberArchitecture = try #require(members[0]["architecture"] as? [String: Any])
        memberArchitecture["valenceScale"] = nil
        members[0]["architecture"] = memberArchitecture
        older["members"] = members
        try JSONSerialization.data(withJSONObject: older).write(to: URL(fileURLWithPath: directory + "/model.json"))
        let old = try FusionModelFile.load(directory)
        #expect(old.valenceTrained && old.members[0].folds[0].architecture.valenceScale == 1)
    }

    @Test("a tensor the manifest does not describe, a missing one and a mis-shaped one are each named")
    func strict() throws {
        let stray = try SavedModel()
        try stray.rewrite { $0.append((name: "s2.fold2.emotion.bias", tensor: Tensor(shape: [6]))) }
        #expect(throws: FusionError.invalidModel(file: stray.weightsPath, reason: #"tensors the manifest does not describe: ["s2.fold2.emotion.bias"]"#)) {
            try FusionModelFile.load(stray.directory)
        }
        let missing = try SavedModel()
        try missing.rewrite { $0.removeAll { $0.name == "s2.fold1.top.score.bias" } }
        #expect(throws: FusionError.invalidModel(file: missing.weightsPath,
                                                 reason: SafeTensorsError.missingTensor(file: missing.weightsPath, tensor: "s2.fold1.top.score.bias").description)) {
            try FusionModelFile.load(missing.directory)
        }
        let reshaped = try SavedModel()
        try reshaped.rewrite { tensors in
            let i = tensors.firstIndex { $0.name == "s2.fold0.emotion.weight" }!
            tensors[i].tensor = Tensor(shape: [4, 6])
        }
        #expect(throws: FusionError.invalidModel(file: reshaped.weightsPath,
                                                 reason: SafeTensorsError.shapeMismatch(file: reshaped.weightsPath, tensor: "s2.fold0.emotion.weight",
                                                                                        expected: [6, 4], found: [4, 6]).description)) {
            try FusionModelFile.load(reshaped.directory)
        }
    }
}
