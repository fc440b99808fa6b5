import ArgumentParser
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd bench …`: in-process timings of whole stages (median of repeats after a warm-up).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a stage in-process: median of repeats after a warm-up.",
        subcommands: [BenchHuBERT.self, BenchFaces.self, BenchNoise.self, BenchEngine.self])
}

struct BenchHuBERT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubert",
        abstract: "HuBERT hidden states of all layers for random audio of given lengths.")

    @Option(help: "Model directory (config.json, model.safetensors).")
    var model: String

    @Option(help: "Audio lengths in seconds, comma-separated.")
    var seconds: String = "1,4,10"

    @Option(help: "Compute threads (OpenBLAS).")
    var threads: Int = 2

    @Option(help: "Timed repeats per length, after one warm-up.")
    var `repeat`: Int = 5

    func run() async throws {
        let lengths = try CommaSeparated.values(seconds, option: "--seconds", what: "positive numbers, e.g. 1,4,10") { Double($0).flatMap { $0 > 0 ? $0 : nil } }
        guard threads > 0, `repeat` > 0 else { throw CommandFailure.usage("--threads and --repeat take positive integers") }
        BLAS.threadCount = threads
        let encoder: HuBERT
        do {
            encoder = try HuBERT(directory: model)
        } catch {
            throw CommandFailure(message: error.description, status: { if case .missingFile = error { return .usage }; return .runtime }())
        }
        let layers = Array(0...encoder.hiddenLayers)
        print("merd hubert: \(encoder.configuration.hiddenLayers) layers, width \(encoder.configuration.hiddenSize); "
              + "OpenBLAS \(BLAS.coreName), \(BLAS.threadCount) threads; RSS after load \(ProcessMemory.residentMiB) MiB")
        var random = SystemRandomNumberGenerator()
        for length in lengths {
            let samples = Int(length * 16000)
            let audio = (0..<samples).map { _ in Float.random(in: -0.3...0.3, using: &random) }
            _ = try encoder.hiddenStates(audio: audio, layers: layers)  // warm-up
            var times: [Double] = []
            for _ in 0..<`repeat` {
                let start = ContinuousClock.now
                _ = try encoder.hiddenStates(audio: audio, layers: layers)
                let elapsed = ContinuousClock.now - start
                times.append(elapsed.seconds)
            }
            let median = times.sorted()[times.count / 2]
            // Where the time goes: the front end alone, once.
            let frontStart = ContinuousClock.now
            _ = encoder.frontEnd(audio: audio)
            let frontEnd = ContinuousClock.now - frontStart
            let frontEndMilliseconds = frontEnd.seconds * 1000
            let frames = encoder.configuration.frameCount(samples: samples)
            let flops = encoder.configuration.frontEndFLOPs(samples: samples)
                + encoder.configuration.encoderFLOPs(frames: frames, layers: encoder.hiddenLayers)
            print(String(format: "merd hubert %g s: median %.0f ms, real-time factor %.3f, %.1f GFLOP at %.0f GFLOP/s (front end %.0f ms)",
                         length, median * 1000, median / length, flops / 1e9, flops / median / 1e9, frontEndMilliseconds))
        }
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
        print(String(format: "sgemm peak in this process, (200,4096,1024) best of 30: %.0f GFLOP/s", GEMMPeak.measure()))
    }
}

/// The best rate of one transformer-sized GEMM, measured in the same process and run, so a
/// stage's GFLOP/s can be read against what the machine's BLAS reaches right now.
enum GEMMPeak {
    static func measure(m: Int = 200, n: Int = 4096, k: Int = 1024, repeats: Int = 30) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            best = min(best, elapsed.seconds)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }
}

/// The process's memory as the kernel counts it (/proc/self/status).
enum ProcessMemory {
    static var residentMiB: Int { field("VmRSS:") / 1024 }
    static var peakResidentMiB: Int { field("VmHWM:") / 1024 }

    /// A kB field of /proc/self/status, or 0 where there is none.
    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
