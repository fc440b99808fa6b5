import Foundation
import MerdEvents

/// A model directory's `model.json` as far as the daemon reports it (DESIGN.md, "Model
/// files"): kind, name, licence and the sha256 of each file. Written by `merd models fetch`
/// and tools/fetch-default-models; fusion models have their own manifest and no licence.
public struct ModelManifest: Decodable, Sendable, Equatable {
    public struct File: Decodable, Sendable, Equatable {
        public var name: String
        public var sha256: String?
    }

    public var kind: String?
    public var name: String?
    public var license: String?
    public var files: [File]?

    /// The manifest of `directory`, or nil when it has none (or one that is not JSON: the
    /// model loader, not this report, says what is wrong with a model).
    public static func read(directory: String) -> ModelManifest? {
        guard let data = FileManager.default.contents(atPath: directory + "/model.json") else { return nil }
        return try? JSONDecoder().decode(ModelManifest.self, from: data)
    }

    /// `hello`'s entry for a model of `role` loaded from `directory`.
    public static func loadedModel(role: String, directory: String) -> LoadedModel {
        let manifest = read(directory: directory)
        let name = URL(fileURLWithPath: directory).lastPathComponent
        let weightSuffixes = [".safetensors", ".bin", ".pt", ".dat"]
        let weights = manifest?.files?.first { file in weightSuffixes.contains { file.name.hasSuffix($0) } } ?? manifest?.files?.first
        return LoadedModel(role: role, name: name, license: manifest?.license, sha256: weights?.sha256)
    }
}
