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
    /// half the weight memory on CPUs with AVX512_BF16 or AMX, at ~3 significant digits per
    /// operand. Its speed is the CPU's: about twice F32's on AMD Zen 4, 0.5–0.8× on an Intel
    /// Xeon without AMX (`BF16SpeedProbe` measures it). oneDNN only.
    case bf16
}
