import NeuralKit
import Testing

/// An element-wise tolerance: |actual − expected| ≤ absolute + relative · |expected|.
struct Tolerance: CustomStringConvertible {
    let absolute: Double
    let relative: Double

    var description: String { "abs \(absolute) + rel \(relative)" }

    /// Float32 kernels against float64 plain loops. Every kernel that sums products in float32
    /// (GEMM, convolution, attention) rounds at each addition, in an order BLAS chooses; for
    /// inputs in [-1, 1] and sums of up to a few thousand terms the error stays below
    /// ~1e-5 absolute (√K · 2⁻²⁴ · |terms|), with a relative part for large outputs.
    static let accumulation = Tolerance(absolute: 2e-5, relative: 1e-5)

    /// Element-wise maps (ReLU, PReLU, batch norm, tanh): one or two float32 roundings.
    static let elementwise = Tolerance(absolute: 1e-6, relative: 1e-6)

    /// Transcendentals from libm in float32 (erff, expf, tanhf): a few ulp.
    static let transcendental = Tolerance(absolute: 1e-6, relative: 4e-6)

    /// Two float32 approximations of one function compared with each other: NeuralKit's
    /// vectorised erf/exp and PyTorch's own vectorised ones are each within 1e-6 of the truth
    /// (VectorMathTests, ActivationTests), so they may differ by twice that.
    static let twoApproximations = Tolerance(absolute: 2e-6, relative: 4e-6)

    /// Normalisations: a float32 mean and variance over up to a few thousand values, then
    /// a division by √(σ² + ε); outputs are O(1), and ε = 1e-5 keeps the division tame.
    static let normalization = Tolerance(absolute: 5e-5, relative: 1e-5)

    /// Exact copies and reshapes.
    static let exact = Tolerance(absolute: 0, relative: 0)

    /// Float16 rounding: 11 significant bits (relative 2⁻¹¹), BFloat16: 8 (2⁻⁸).
    static let float16 = Tolerance(absolute: 0, relative: 4.9e-4)
    static let bfloat16 = Tolerance(absolute: 0, relative: 3.9e-3)
}

/// Compares a whole tensor with a reference, shape first, and reports the worst element,
/// so a transposed or shifted result cannot pass.
func expectClose(
    _ actual: Tensor, _ expected: [Double], shape: [Int], _ tolerance: Tolerance,
    _ label: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == shape, "shape \(label())", sourceLocation: sourceLocation)
    guard actual.shape == shape else { return }
    let values = actual.scalars
    #expect(values.count == expected.count, sourceLocation: sourceLocation)
    var worst = 0.0
    var worstIndex = -1
    var failures = 0
    for i in 0..<min(values.count, expected.count) {
        let error = abs(Double(values[i]) - expected[i])
        let allowed = tolerance.absolute + tolerance.relative * abs(expected[i])
        if !(error <= allowed) {  // NaN fails too
            failures += 1
            if !(error <= worst) { worst = error; worstIndex = i }
        }
    }
    #expect(
        failures == 0,
        "\(label()): \(failures) of \(values.count) elements outside \(tolerance); worst at \(worstIndex): got \(worstIndex >= 0 ? Double(values[worstIndex]) : 0), expected \(worstIndex >= 0 ? expected[worstIndex] : 0)",
        sourceLocation: sourceLocation)
}

extension Tolerance {
    /// oneDNN's F32 matmul and convolutions against float64 loops: the same float32 sums as
    /// OpenBLAS's, in another order (blocked over K by its brgemm kernels), so the same bound.
    static let oneDNNAccumulation = accumulation

    /// BF16 products against float64 loops, relative to the output's scale (largest |value|):
    /// each operand is rounded to 8 significant bits (relative 2⁻⁹ ≈ 2e-3 per factor, two
    /// factors), the K products are summed in F32, so errors add like a random walk: for
    /// inputs in [-1, 1] and K ≤ 1024 the worst element stays near 1e-2 of the scale. The bound
    /// asserted is 2e-2 of scale and a cosine to the F32 result ≥ 0.9999; the tests print the
    /// measured figures (Zen 4, oneDNN 2.6: 1.8–2.2e-3 of scale, cosine 0.999998).
    static let bf16OfScale = 2e-2
    static let bf16Cosine = 0.9999
}
