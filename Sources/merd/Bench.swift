import ArgumentParser
import Foundation
import MediaTypes
import MerdBench
import NeuralKit
import StreamEngine

/// `merd bench …`: in-process timings of whole stages (median of repeats after a warm-up).
/// The measuring lives in MerdBench; these commands parse, call and print.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a stage in-process: median of repeats after a warm-up.",
        subcommands: [BenchHuBERT.self, BenchGEMM.self, BenchPrecision.self, BenchSpeechEmotion.self, BenchFaces.self, BenchNoise.self, BenchEngine.self])
}

struct BenchHuBERT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubert",
        abstract: "HuBERT hidden states of all layers for random audio of given lengths.")

    @OptionGroup var options: SpeechBenchOptions

    func run() async throws {
        print(MachineDescription.current())
        let lengths = try options.prepare()
        let encoder: HuBERT
        do {
            encoder = try HuBERT(directory: options.model)
        } catch {
            throw CommandFailure(message: error.description, status: { if case .missingFile = error { return .usage }; return .runtime }())
        }
        let benchmark = HuBERTBenchmark(encoder: encoder, repeats: options.repeat)
        print("merd hubert: \(encoder.configuration.hiddenLayers) layers, width \(encoder.configuration.hiddenSize); "
              + "compute \(Compute.default); \(ComputeThreads.summary); RSS after load \(ProcessMemory.residentSummary), peak \(ProcessMemory.peakResidentMiB) MiB")
        var random = SystemRandomNumberGenerator()
        for length in lengths {
            let stolenBefore = StolenTime.now()
            let result = try benchmark.measure(seconds: length, using: &random)
            let stolen = StolenTime.summary(since: stolenBefore).map { "; \($0)" } ?? ""
            let frames = encoder.configuration.frameCount(samples: Int(length * 16000))
            print("merd hubert \(length.formatted()) s kernels: "
                  + encoder.kernels(frames: frames).map { "\($0.part) \($0.kernel)" }.joined(separator: "; "))
            print(String(format: "merd hubert %g s: median %.0f ms, real-time factor %.3f, %.1f GFLOP at %.0f GFLOP/s (front end %.0f ms%@)",
                         length, result.medianSeconds * 1000, result.realTimeFactor, result.flops / 1e9, result.gigaFLOPsPerSecond,
                         result.frontEndSeconds * 1000, stolen))
        }
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
        print(String(format: "sgemm peak in this process, (200,4096,1024) best of 30: %.0f GFLOP/s", GEMMPeak.measure()))
        print(InstructionPeak.measure(threads: options.threads))
    }
}

extension CommandFailure {
    /// A benchmark's input that could not be read: a missing file is a usage error, anything
    /// else a runtime one.
    static func input(_ error: CaptureError) -> CommandFailure {
        if case .notFound = error { return .usage(error.description) }
        return .runtime(error.description)
    }
}
