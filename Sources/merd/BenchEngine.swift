import ArgumentParser
import Foundation
import Logging
import MediaTypes
import MerdBench
import MerdDaemon
import NeuralKit
import StreamEngine

/// `merd bench engine`: the daemon's engine on a live-paced stream of real speech and faces,
/// measuring the latency from the end of each utterance to its event.
struct BenchEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "End-to-end latency (end of speech → utterance event) on live-paced speech and video.",
        discussion: """
            Speech: EmoDB utterances joined into 2–6 s utterances with --gap seconds of silence between them, \
            paced as a microphone delivers it (20 ms chunks); video: a GRID clip looped at 25 fps, paced as a \
            camera. The engine runs as `merd run` does: HuBERT streamed during speech, the face pipeline \
            sampled at --face-fps, the speech detector merd run would pick (Silero VAD when installed), fusion \
            when a model is there. Reports each utterance's latency, their median \
            and 90th percentile, and whether latency grows over the run (a backlog).
            """)

    @Option(help: "HuBERT model directory (e.g. random HuBERT-large weights from Benchmarks/hubert).")
    var model: String
    @Option(help: "Models directory for the face models (default: $MERD_MODELS, …); none for audio only.")
    var models: String?
    @Option(help: "The shared data folder (grid/, emodb/).")
    var data: String = "../shared/data"
    @Option(help: "Utterances to play.")
    var utterances = 12
    @Option(help: "Seconds of silence between utterances (0.3 for nearly continuous speech).")
    var gap: Double = 1.5
    @Option(help: "HuBERT window while speech goes on, seconds (merd.toml: engine.speech_window_seconds).")
    var window: Double = HuBERTWindowing.defaultWindowSeconds
    @Option(help: "Overlap of consecutive windows, seconds (engine.speech_overlap_seconds).")
    var overlap: Double = HuBERTWindowing.defaultOverlapSeconds
    @Flag(name: .customLong("no-speculation"), help: "Start the last window only when the end of speech is confirmed.")
    var noSpeculation = false
    @Option(name: .customLong("speculate-after"), help: "Milliseconds of pause before the last window starts ahead of the confirmed end.")
    var speculateAfter = EngineConfiguration().speculateAfterPauseMilliseconds ?? 0
    @Option(name: .customLong("face-fps"), help: "Frames the face pipeline analyses per second.")
    var faceFramesPerSecond: Double = 10
    @Flag(name: .customLong("no-visual-gate"), help: "Segment by the voice alone (engine.visual_gate = false).")
    var noVisualGate = false
    @Option(help: "Compute threads (oneDNN's OpenMP and OpenBLAS).")
    var threads = 2
    @OptionGroup var computeOptions: ComputeOptions
    @Option(help: "HuBERT layers pooled (the highest one bounds the work).")
    var layers: String = "18,19,20"
    @OptionGroup var speechDetector: SpeechDetectorOption

    func run() async throws {
        print(MachineDescription.current())
        let layerList = try CommaSeparated.layers(layers)
        guard utterances > 0, gap >= 0.3, window > overlap, overlap >= 0 else {
            throw CommandFailure.usage("--utterances positive, --gap ≥ 0.3 s, --window > --overlap ≥ 0")
        }
        ComputeThreads.configure(threads)
        print(InstructionPeak.measure(threads: threads))
        try computeOptions.apply()
        let logger = Logger(label: "merd")
        let loaded = try EngineModels.load(root: models.map { $0 == "none" ? "/nonexistent" : $0 } ?? ModelsDirectory.resolve(nil),
                                           layers: layerList, hubertDirectory: model, faces: models != "none",
                                           speechDetector: try speechDetector.kind(), logger: logger)
        print("merd engine: RSS after loading the models \(ProcessMemory.residentSummary), peak \(ProcessMemory.peakResidentMiB) MiB")
        var settings = EngineConfiguration()
        settings.layers = layerList
        settings.windowing = HuBERTWindowing(windowSeconds: window, overlapSeconds: overlap)
        settings.faceFramesPerSecond = faceFramesPerSecond
        settings.speculateAfterPauseMilliseconds = noSpeculation ? nil : speculateAfter
        if noVisualGate { settings.segmenter.visualGate = nil }

        let speech: BenchmarkSpeech
        do {
            speech = try BenchmarkSpeech(dataFolder: data, utterances: utterances, gapSeconds: gap)
        } catch let error as CaptureError {
            throw CommandFailure.input(error)
        } catch let error as BenchmarkError {
            throw CommandFailure.usage(error.description)
        }
        let clip = data + "/grid/bbaf2n.mpg"
        let frames: [RGBImage]
        do { frames = try BenchmarkVideo.frames(clip) } catch { throw CommandFailure.usage(error.description) }
        guard !frames.isEmpty else { throw CommandFailure.runtime(BenchmarkError.noVideoFrames(path: clip).description) }
        let spans = speech.spanSeconds
        print(String(format: "merd engine: %d utterances of %@ s, gaps %.1f s, %.0f s in all; HuBERT window %.2f s (overlap %.2f), last window %@; layers %@; face models %@; speech detector %@; visual gate %@; compute %@; %@",
                     spans.count, spans.map { String(format: "%.1f", $0) }.joined(separator: " "), gap, speech.seconds, window, overlap,
                     noSpeculation ? "when the end is confirmed" : "from the start of the pause", layers, loaded.vision == nil ? "none" : "yes",
                     loaded.voiceDetector == nil ? "energy" : "Silero VAD", noVisualGate ? "off" : "on", Compute.default.description, ComputeThreads.summary))
        print("merd engine kernels: " + (loaded.hubert.map { $0.kernels(frames: 48).map { "\($0.part) \($0.kernel)" }.joined(separator: "; ") } ?? "no HuBERT"))
        let stages = loaded.stages(configuration: settings)
        let cpuBefore = ProcessCPU.seconds, stolenBefore = StolenTime.now()
        let result = try await EngineBenchmark(stages: stages, configuration: settings, speech: speech, video: loaded.vision == nil ? nil : frames).run()
        let cpuSeconds = ProcessCPU.seconds - cpuBefore
        let stolen = StolenTime.summary(since: stolenBefore).map { "; \($0)" } ?? ""
        guard let latency = result.latency else { throw CommandFailure.runtime("no utterance was found in the stream") }
        print("merd engine latencies (ms, in order): \(result.latenciesMilliseconds.map(String.init).joined(separator: " "))")
        print(String(format: "merd engine: %d utterance events, %d face events; latency median %d ms, p90 %d ms, max %d ms; mean first half %d ms, second half %d ms%@",
                     latency.count, result.faceEvents, latency.medianMilliseconds, latency.p90Milliseconds, latency.maxMilliseconds,
                     latency.firstHalfMeanMilliseconds, latency.secondHalfMeanMilliseconds, latency.growing ? " (growing: a backlog)" : " (steady: keeps up)"))
        let finishes = result.finishMicroseconds.sorted()
        if !finishes.isEmpty {
            // The rest of each latency is the segmenter's: a hangover of silence, less the tail.
            print(String(format: "merd engine: from the confirmed end to the event (the engine's share; ms, in order: %@): median %.1f ms, p90 %.1f ms, max %.1f ms",
                         result.finishMicroseconds.map { String(format: "%.1f", Double($0) / 1000) }.joined(separator: " "),
                         Double(finishes[finishes.count / 2]) / 1000, Double(finishes[min(finishes.count - 1, finishes.count * 9 / 10)]) / 1000,
                         Double(finishes[finishes.count - 1]) / 1000))
        }
        let speculations = result.speculations
        print(String(format: "merd engine: %d last windows run ahead of the confirmed end (%.1f s of compute in all), %d of them used; "
                     + "%d dropped when speech resumed (%.1f s of compute in all)",
                     speculations.run, speculations.runSeconds, speculations.used, speculations.dropped, speculations.droppedSeconds))
        if let fromSpeech = result.fromSpeech {
            print(String(format: "merd engine: from the end of the speech itself (%d events matched): median %d ms, p90 %d ms",
                         fromSpeech.count, fromSpeech.medianMilliseconds, fromSpeech.p90Milliseconds))
        }
        print(String(format: "merd engine: CPU %.2f s per second of the stream (%.0f %% of one core; speech, silence and video at %.0f face fps, as paced%@)",
                     cpuSeconds / speech.seconds, 100 * cpuSeconds / speech.seconds, faceFramesPerSecond, stolen))
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
    }
}
