import MerdDaemon
import MerdEvents
import ArgumentParser
import CaptureFile
import Foundation
import Logging
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd analyze FILE`: the engine over a recorded file, as fast as possible; events as JSON
/// Lines on stdout.
struct Analyze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine over a recorded file as fast as possible; events as JSON Lines on stdout.",
        discussion: """
            Models come from the models directory: hubert-large (or chinese-hubert-large), the face models \
            (tools/fetch-default-models) and fusion. Without them the utterances are still found and reported, \
            with emotion and valence null; without face models there are no face events.
            """)

    @Argument(help: "A media file (audio, video, or both).")
    var input: String
    @OptionGroup var modelsOption: ModelsOption
    @Option(help: "HuBERT model directory (default: <models>/hubert-large, else <models>/chinese-hubert-large).")
    var hubert: String?
    @Option(help: "Fusion model directory (default: <models>/fusion); none for the face and speech models' own estimates.")
    var fusion: String?
    @OptionGroup var speechDetector: SpeechDetectorOption
    @Option(help: "HuBERT layers pooled per utterance (the fusion model's HL inputs).")
    var layers: String = "18,19,20"
    @Option(name: .customLong("face-fps"), help: "Video frames analysed per second of the recording.")
    var faceFramesPerSecond: Double = 10
    @Flag(name: .customLong("no-faces"), help: "Leave the video out.")
    var noFaces = false
    @Flag(name: .customLong("require-visible-speaker"),
          help: "Leave out utterances no visible face spoke (a television, someone off camera); as engine.require_visible_speaker.")
    var requireVisibleSpeaker = false
    @Flag(name: .customLong("no-visual-gate"),
          help: "Segment by the voice alone, not also where the visible lips start or stop moving; as engine.visual_gate = false.")
    var noVisualGate = false
    @Option(help: "Compute threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("log-level"),
            help: "Least severe log line written to stderr: \(DaemonConfiguration.logLevels.joined(separator: ", ")) (as log.level).")
    var logLevel: String = "info"

    func run() async throws {
        let layerList = try CommaSeparated.layers(layers)
        guard faceFramesPerSecond > 0 else { throw CommandFailure.usage("--face-fps takes a positive number") }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CommandFailure.usage("--log-level takes one of \(DaemonConfiguration.logLevels.joined(separator: ", ")), not \"\(logLevel)\"")
        }
        ComputeThreads.configure(threads)
        let info: MediaInfo
        do { info = try MediaProbe.probe(input) } catch {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }
        let hasAudio = info.streams.contains { $0.kind == .audio }, hasVideo = info.streams.contains { $0.kind == .video }
        guard hasAudio || hasVideo else { throw CommandFailure.runtime("\(input): no audio or video stream") }
        var logger = Logger(label: "merd")
        logger.logLevel = level
        let loaded = try EngineModels.load(root: modelsOption.directory, layers: layerList, hubertDirectory: hubert,
                                           fusionDirectory: fusion, faces: hasVideo && !noFaces,
                                           speechDetector: try speechDetector.kind(), logger: logger)
        var configuration = EngineConfiguration()
        configuration.layers = layerList
        configuration.liveClock = false
        configuration.faceFramesPerSecond = faceFramesPerSecond
        configuration.requireVisibleSpeaker = requireVisibleSpeaker
        if noVisualGate { configuration.segmenter.visualGate = nil }
        let engine = Engine(stages: loaded.stages(configuration: configuration), configuration: configuration, logger: logger) {
            writeLine($0.jsonLine())
        }
        if let ensemble = loaded.fusion, !engine.fusionUsable {
            logger.warning("the fusion model reads \(ensemble.inputs.map(\.name)); this run computes \(engine.availableInputs.sorted()): emotion and valence will be null")
        }
        let file = RecordedFile(path: input, pacing: .asFastAsPossible)
        var sources: [String: String] = [:]
        if hasAudio { sources["audio"] = input }
        if hasVideo && loaded.vision != nil { sources["video"] = input }
        writeLine(Event.hello(loaded.hello(sources: sources, stages: engine.stages)).jsonLine())
        do {
            try await engine.analyze(audio: hasAudio ? file.audio : nil, video: hasVideo && loaded.vision != nil ? file.video : nil)
        } catch let error as CaptureError {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }
        if let damage = file.damageReport { logger.warning("\(input): \(damage)") }
    }
}
