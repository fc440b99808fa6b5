/// The library that runs NeuralKit's matrix products and convolutions.
public enum ComputeBackend: String, Sendable, CaseIterable, Codable {
    /// OpenBLAS's sgemm, im2col for convolutions, NeuralKit's own depthwise kernel.
    case openBLAS = "openblas"
    /// oneDNN's matmul and convolution primitives, weights reordered once at load into the
    /// layout the primitive prefers.
    case oneDNN = "onednn"
}

/// The number format of weights and of the products' inputs. Accumulation and outputs stay F32.
public enum ComputePrecision: String, Sendable, CaseIterable, Codable {
    case f32
    /// bfloat16 weights and activations into each product (F32 accumulation, F32 output):
    /// half the weight memory and about twice the throughput on CPUs with AVX512_BF16 or AMX,
    /// at ~3 significant digits per operand. oneDNN only.
    case bf16
}
