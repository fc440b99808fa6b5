import ArgumentParser
import NeuralKit

/// What `merd bench hubert` and `merd bench speech-emotion` both take: a model directory,
/// audio lengths, threads and repeats.
struct SpeechBenchOptions: ParsableArguments {
    @Option(help: "Model directory (config.json and the weights: model.safetensors, pytorch_model.bin or model.pt).")
    var model: String

    @Option(help: "Audio lengths in seconds, comma-separated.")
    var seconds: String = "1,4,10"

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Compute threads (OpenBLAS and oneDNN's OpenMP).")
    var threads: Int = 2

    @Option(help: "Timed repeats per length, after one warm-up.")
    var `repeat`: Int = 5

    /// The lengths asked for, after checking every option; sets the compute threads and the
    /// backend and precision models load with.
    func prepare() throws -> [Double] {
        let lengths = try CommaSeparated.values(seconds, option: "--seconds", what: "positive numbers, e.g. 1,4,10") { Double($0).flatMap { $0 > 0 ? $0 : nil } }
        guard threads > 0, `repeat` > 0 else { throw CommandFailure.usage("--threads and --repeat take positive integers") }
        ComputeThreads.configure(threads)
        try compute.apply()
        return lengths
    }
}
