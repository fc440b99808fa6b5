import ArgumentParser
import Foundation
import MerdBench
import NeuralKit
import StreamEngine

/// `merd bench speech-emotion`: a speech emotion model's whole-utterance estimate for random
/// audio of given lengths.
struct BenchSpeechEmotion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech-emotion",
        abstract: "Arousal, dominance and valence of random audio of given lengths, the whole utterance at once.")

    @Option(help: "Model directory (config.json, model.safetensors, preprocessor_config.json).")
    var model: String

    @Option(help: "Audio lengths in seconds, comma-separated.")
    var seconds: String = "1,4,10"

    @Option(help: "Compute threads (OpenBLAS).")
    var threads: Int = 2

    @Option(help: "Timed repeats per length, after one warm-up.")
    var `repeat`: Int = 5

    func run() async throws {
        print(MachineDescription.current())
        let lengths = try CommaSeparated.values(seconds, option: "--seconds", what: "positive numbers, e.g. 1,4,10") { Double($0).flatMap { $0 > 0 ? $0 : nil } }
        guard threads > 0, `repeat` > 0 else { throw CommandFailure.usage("--threads and --repeat take positive integers") }
        ComputeThreads.configure(threads)
        let loaded: SpeechEmotionModel
        do {
            loaded = try SpeechEmotionModel(directory: model)
        } catch {
            throw CommandFailure(message: error.description, status: { if case .missingFile = error { return .usage }; return .runtime }())
        }
        let configuration = loaded.encoder.configuration
        print("merd speech-emotion: \(configuration.hiddenLayers) layers, width \(configuration.hiddenSize); "
              + "OpenBLAS \(BLAS.threadCount) threads; RSS after load \(ProcessMemory.residentMiB) MiB")
        let benchmark = SpeechEmotionBenchmark(model: loaded, repeats: `repeat`)
        var random = SystemRandomNumberGenerator()
        for length in lengths {
            let result = try benchmark.measure(seconds: length, using: &random)
            print(String(format: "merd speech-emotion %g s: median %.0f ms, %.3f s per second of audio, %.1f GFLOP at %.0f GFLOP/s",
                         length, result.medianSeconds * 1000, result.realTimeFactor, result.flops / 1e9, result.gigaFLOPsPerSecond))
        }
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
        // What the GEMMs could reach in this process now: on a shared machine, the reference for the rates above.
        print(String(format: "sgemm peak in this process, (200,4096,1024) best of 30: %.0f GFLOP/s", GEMMPeak.measure()))
    }
}
