import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd analyze FILE`: the engine over a recorded file, as fast as possible; events as JSON
/// Lines on stdout.
struct Analyze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine over a recorded file as fast as possible; events as JSON Lines on stdout.",
        discussion: """
            Models come from the models directory: hubert-large (or chinese-hubert-large) and fusion. \
            Without them the utterances are still found and reported, with emotion and valence null.
            """)

    @Argument(help: "A media file with an audio track.")
    var input: String
    @Option(help: "Models directory (default: $MERD_MODELS, /var/lib/merd/models, ~/.local/share/merd/models).")
    var models: String?
    @Option(help: "HuBERT model directory (default: <models>/hubert-large, else <models>/chinese-hubert-large).")
    var hubert: String?
    @Option(help: "Fusion model directory (default: <models>/fusion).")
    var fusion: String?
    @Option(help: "HuBERT layers pooled per utterance (the fusion model's HL inputs).")
    var layers: String = "18,19,20"
    @Option(help: "Compute threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() async throws {
        guard let layerList = Optional(layers.split(separator: ",").compactMap { Int($0) }), !layerList.isEmpty else {
            throw CommandFailure.usage("--layers takes whole numbers, e.g. 18,19,20")
        }
        BLAS.threadCount = max(1, threads)
        let root = ModelsDirectory.resolve(models)
        let manager = FileManager.default
        let hubertDirectory = hubert ?? ["hubert-large", "chinese-hubert-large"].map { root + "/" + $0 }.first {
            manager.fileExists(atPath: $0 + "/config.json")
        }
        var encoder: HuBERT?
        if let hubertDirectory {
            do { encoder = try HuBERT(directory: hubertDirectory, highestLayer: layerList.max()) } catch {
                throw CommandFailure.usage(error.description)
            }
        } else {
            writeError("merd: no HuBERT model in \(root) (`merd models fetch hubert-large`); utterances without audio features")
        }
        var ensemble: FusionEnsemble?
        let fusionDirectory = fusion ?? root + "/fusion"
        if manager.fileExists(atPath: fusionDirectory + "/model.json") {
            do { ensemble = try FusionModelFile.load(fusionDirectory) } catch { throw CommandFailure.usage(error.description) }
        } else if fusion != nil {
            throw CommandFailure.usage("\(fusionDirectory): no fusion model (model.json)")
        }
        var configuration = EngineConfiguration()
        configuration.layers = layerList
        configuration.liveClock = false
        let engine = Engine(hubert: encoder, fusion: ensemble, configuration: configuration)
        if ensemble != nil && !engine.fusionUsable {
            writeError("merd: the fusion model needs inputs \(ensemble!.inputs.map(\.name)); this run computes \(layerList.map { "HL\($0)" }) only: emotion and valence will be null")
        }
        let hello = Hello(version: MerdVersion.string, labels: ensemble?.labels ?? FusionArchitecture.merLabels,
                          sources: ["audio": input],
                          models: ["audio": hubertDirectory.map { URL(fileURLWithPath: $0).lastPathComponent },
                                   "fusion": engine.fusionUsable ? "jdev-ensemble" : nil])
        writeLine(Event.hello(hello).jsonLine())
        let file = RecordedFile(path: input, pacing: .asFastAsPossible)
        do {
            try await engine.run(audio: file.audio) { writeLine($0.jsonLine()) }
        } catch let error as CaptureError {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        } catch let error as HuBERTError {
            throw CommandFailure.runtime("\(input): \(error.description)")
        }
    }
}
