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

    @OptionGroup var options: SpeechBenchOptions

    func run() async throws {
        print(MachineDescription.current())
        let lengths = try options.prepare()
        let loaded: SpeechEmotionModel
        do {
            loaded = try SpeechEmotionModel(directory: options.model)
        } catch {
            throw CommandFailure(message: error.description, status: { if case .missingFile = error { return .usage }; return .runtime }())
        }
        let configuration = loaded.encoder.configuration
        print("merd speech-emotion: \(configuration.hiddenLayers) layers, width \(configuration.hiddenSize); "
              + "compute \(Compute.default); \(ComputeThreads.summary); RSS after load \(ProcessMemory.residentMiB) MiB")
        let benchmark = SpeechEmotionBenchmark(model: loaded, repeats: options.repeat)
        var random = SystemRandomNumberGenerator()
        for length in lengths {
            let stolenBefore = StolenTime.now()
            let result = try benchmark.measure(seconds: length, using: &random)
            let stolen = StolenTime.summary(since: stolenBefore).map { " (\($0))" } ?? ""
            print(String(format: "merd speech-emotion %g s: median %.0f ms, %.3f s per second of audio, %.1f GFLOP at %.0f GFLOP/s%@",
                         length, result.medianSeconds * 1000, result.realTimeFactor, result.flops / 1e9, result.gigaFLOPsPerSecond, stolen))
        }
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
        // What the GEMMs could reach in this process now: on a shared machine, the reference for the rates above.
        print(String(format: "sgemm peak in this process, (200,4096,1024) best of 30: %.0f GFLOP/s", GEMMPeak.measure()))
    }
}
