import ArgumentParser
import NeuralKit

/// `--backend` and `--precision`: the compute choice models are loaded with (`Compute.default`),
/// checked against this machine before anything loads.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Matrix and convolution backend: openblas or onednn (default: $MERD_COMPUTE, else the faster on this CPU: onednn with AVX-512; with AVX2 only, onednn unless openblas runs live speech's products clearly faster, timed at start, and then onednn for the face CNN encoders' convolutions).")
    var backend: String?

    @Option(help: "Weights and products' inputs: f32, or bf16 (oneDNN on a CPU with AVX512_BF16 or AMX).")
    var precision: String = Compute.default.precision.rawValue

    /// The parsed choice, validated for this machine.
    func compute() throws -> Compute {
        let backend = self.backend ?? Compute.default.backend.rawValue
        guard let backend = ComputeBackend(rawValue: backend) else {
            throw CommandFailure.usage("--backend takes \(ComputeBackend.allCases.map(\.rawValue).joined(separator: " or ")), got \(backend)")
        }
        guard let precision = ComputePrecision(rawValue: precision) else {
            throw CommandFailure.usage("--precision takes \(ComputePrecision.allCases.map(\.rawValue).joined(separator: " or ")), got \(precision)")
        }
        let compute = Compute(backend: backend, precision: precision)
        do { try compute.validate() } catch { throw CommandFailure.usage(error.description) }
        return compute
    }

    /// Validates the choice and makes it the process's, before models load.
    func apply() throws {
        // No backend named: the face CNN encoders take theirs as the daemon's do.
        Compute.choose(try compute(), backendNamed: backend != nil)
    }
}
