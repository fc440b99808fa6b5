import MerdEvents
import Foundation
import Logging
import StreamEngine

/// The models a run of the engine loads from the models directory: each optional, each
/// missing one named with what to do, each broken one an error (exit status 2).
public struct EngineModels: Sendable {
    public init() {}

    public var hubert: HuBERT?
    public var hubertName: String?
    public var fusion: FusionEnsemble?
    public var vision: VisionModels?
    /// Valence and arousal from the voice (`w2v2-msp-dim`, `merd models fetch w2v2-msp-dim`).
    public var speechEmotion: SpeechEmotionModel?
    /// Silero VAD, the speech detector; nil: the energy detector finds speech.
    public var voiceDetector: SileroVAD?
    /// Every model loaded, for `hello` (role, name, licence, sha256 from each `model.json`).
    public var loaded: [LoadedModel] = []

    /// - Parameters: explicit `hubertDirectory`/`fusionDirectory` must exist (`fusionDirectory`
    ///   "none" loads no fusion model); the defaults may not. `speechDetector` nil: Silero VAD
    ///   when it is installed, else the energy detector with a warning; `.silero` needs it.
    public static func load(root: String, layers: [Int], hubertDirectory: String? = nil, fusionDirectory: String? = nil,
                     faces: Bool = true, speechDetector: SpeechDetectorKind? = nil, logger: Logger) throws -> EngineModels {
        var models = EngineModels()
        let manager = FileManager.default
        if let (detector, loaded) = try voiceDetector(root: root, kind: speechDetector, logger: logger) {
            models.voiceDetector = detector
            models.loaded.append(loaded)
        }
        if let (hubert, directory) = try speechModel(root: root, explicit: hubertDirectory, highestLayer: layers.max() ?? 0) {
            models.hubert = hubert
            models.hubertName = URL(fileURLWithPath: directory).lastPathComponent
            models.loaded.append(ModelManifest.loadedModel(role: "speech-features", directory: directory))
        } else {
            logger.warning("no HuBERT model in \(root): utterances carry no speech features (`merd models fetch hubert-large`)")
        }
        let speechEmotionPath = root + "/" + Self.speechEmotionFolder
        if FileManager.default.fileExists(atPath: speechEmotionPath + "/config.json") {
            try ModelIntegrity.verify(directory: speechEmotionPath)
            do { models.speechEmotion = try SpeechEmotionModel(directory: speechEmotionPath) } catch { throw ModelStoreError(error.description) }
            models.loaded.append(ModelManifest.loadedModel(role: "speech-emotion", directory: speechEmotionPath))
        }
        let fusionPath = fusionDirectory ?? root + "/fusion"
        if fusionDirectory == "none" {
            // Asked for explicitly: the models' own estimates, no fusion.
        } else if manager.fileExists(atPath: fusionPath + "/model.json") {
            let (fusion, loaded) = try fusionModel(at: fusionPath)
            models.fusion = fusion
            models.loaded.append(loaded)
        } else if fusionDirectory != nil {
            throw ModelStoreError("\(fusionPath): no fusion model (model.json); train one with `merd train`")
        } else {
            logger.warning("no fusion model in \(root)/fusion: emotion and valence will be null (`merd train … --install --models \(root)`)")
        }
        if faces {
            if VisionModels.available(in: root) {
                for folder in [VisionModels.detectorFolder, VisionModels.landmarkFolder] + VisionModels.encoderFolders {
                    try ModelIntegrity.verify(directory: root + "/" + folder)
                }
                do { models.vision = try VisionModels(directory: root) } catch { throw ModelStoreError(error.description) }
                models.loaded.append(ModelManifest.loadedModel(role: "face-detector", directory: root + "/" + VisionModels.detectorFolder))
                models.loaded.append(ModelManifest.loadedModel(role: "face-landmarks", directory: root + "/" + VisionModels.landmarkFolder))
                for name in models.vision?.encoderNames ?? [] {
                    models.loaded.append(ModelManifest.loadedModel(role: "face", directory: root + "/" + name))
                }
            } else if let half = Self.halfInstalledFacePath(root: root) {
                throw ModelStoreError(half)
            } else {
                logger.warning("no face models in \(root): no face path (tools/fetch-default-models installs them)")
            }
        }
        return models
    }

    /// The fusion model in `directory`, its files checked against its manifest first, and
    /// what `hello` says of it.
    public static func fusionModel(at directory: String) throws(ModelStoreError) -> (FusionEnsemble, LoadedModel) {
        try ModelIntegrity.verify(directory: directory)
        do {
            return (try FusionModelFile.load(directory), ModelManifest.loadedModel(role: "fusion", directory: directory))
        } catch {
            throw ModelStoreError(error.description)
        }
    }

    /// What is wrong when one of the face detector and the landmark model is installed and the
    /// other is not (a link to a file that is gone, most often: the landmarks link to Debian's
    /// libdlib-data): an installation half done is an error, not a silent run without faces.
    static func halfInstalledFacePath(root: String) -> String? {
        let parts = [("face detector", root + "/" + VisionModels.detectorFolder + "/model.safetensors"),
                     ("landmark model", root + "/" + VisionModels.landmarkFolder + "/" + VisionModels.landmarkFile)]
        let present = parts.map { FileManager.default.fileExists(atPath: $0.1) }
        guard present.contains(true), let missing = parts.indices.first(where: { !present[$0] }) else { return nil }
        let (what, path) = parts[missing]
        let dangling = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { " is a link to \($0), which does not exist" } ?? " is missing"
        return "\(path)\(dangling): the \(what) is needed with the \(parts[1 - missing].0); reinstall them (tools/fetch-default-models"
            + (missing == 1 ? "; the landmarks come from Debian's libdlib-data)" : ")")
    }

    /// Silero VAD from `root` unless `kind` is `.energy`; nil (and a warning) when it is not
    /// installed and `kind` is nil; an error when `kind` is `.silero` and it is not.
    public static func voiceDetector(root: String, kind: SpeechDetectorKind?, logger: Logger) throws -> (SileroVAD, LoadedModel)? {
        guard kind != .energy else { return nil }
        let directory = root + "/" + SpeechDetectorKind.sileroFolder
        let path = directory + "/" + SpeechDetectorKind.sileroFile
        guard FileManager.default.fileExists(atPath: path) else {
            if kind == .silero {
                throw ModelStoreError("\(path): no Silero VAD model, and the speech detector asked for is silero; "
                                      + "tools/fetch-default-models installs it (or choose energy)")
            }
            logger.warning("no Silero VAD in \(root): speech is found by its energy, which other talkers in the room defeat (tools/fetch-default-models installs it)")
            return nil
        }
        try ModelIntegrity.verify(directory: directory)
        do { return (try SileroVAD(path: path), ModelManifest.loadedModel(role: "speech-detector", directory: directory)) } catch {
            throw ModelStoreError(error.description)
        }
    }

    /// Where the speech-emotion model lives in the models directory.
    public static let speechEmotionFolder = "w2v2-msp-dim"

    /// The engine's stages over these models.
    public func stages(configuration: EngineConfiguration) -> EngineStages {
        EngineStages(hubert: hubert, fusion: fusion, vision: vision, configuration: configuration, speechAffect: speechEmotion,
                     voiceDetector: voiceDetector)
    }

    /// HuBERT from `explicit` (which must be a model directory), else `hubert-large` or
    /// `chinese-hubert-large` in `root`, loaded up to `highestLayer`; nil when there is none.
    public static func speechModel(root: String, explicit: String?, highestLayer: Int) throws -> (HuBERT, String)? {
        let candidates = explicit.map { [$0] } ?? ["hubert-large", "chinese-hubert-large"].map { root + "/" + $0 }
        guard let directory = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/config.json") }) else {
            if let explicit { throw ModelStoreError("\(explicit): not a HuBERT model directory (no config.json)") }
            return nil
        }
        try ModelIntegrity.verify(directory: directory)
        do { return (try HuBERT(directory: directory, highestLayer: highestLayer), directory) } catch { throw ModelStoreError(error.description) }
    }

    /// The hello event of these models running on `stages` (`run`: the daemon run's id).
    public func hello(sources: [String: String], stages: EngineStages, run: String? = nil) -> Hello {
        var hello = Hello(version: MerdVersion.string, labels: stages.labels, sources: sources,
                          models: ["audio": hubertName, "fusion": stages.fusionUsable ? "jdev-ensemble" : nil],
                          visualModels: vision.map { [VisionModels.detectorFolder, VisionModels.landmarkFolder] + $0.encoderNames },
                          loadedModels: loaded)
        hello.run = run
        return hello
    }
}

/// A model that is there but cannot be used (broken, mis-shaped, not what was asked for), or
/// an explicitly named model that is missing: the command was asked for wrongly, exit 2.
public struct ModelStoreError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
