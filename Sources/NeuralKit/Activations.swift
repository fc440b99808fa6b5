import CNeuralKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise activations. Each has an in-place form over a raw buffer, for callers that
/// keep their own activations, and a tensor form that returns a new tensor.
public enum Activation {
    /// max(x, 0).
    public static func relu(_ data: UnsafeMutableBufferPointer<Float>) {
        guard let base = data.baseAddress else { return }
        nk_relu(base, data.count)
    }

    /// GELU in its exact erf form, `x · Φ(x)`, PyTorch's default (`approximate="none"`).
    public static func gelu(_ data: UnsafeMutableBufferPointer<Float>) {
        guard let base = data.baseAddress else { return }
        gelu(base, count: data.count)
    }

    /// GELU over `count` values in place (erf by a rational approximation within 5e-7 of
    /// the truth; see CNeuralKernels), split over the compute budget (`RowParallel`).
    public static func gelu(_ data: UnsafeMutablePointer<Float>, count: Int) {
        RowParallel.forEach(rows: count, width: 1) { range in
            nk_gelu(data + range.lowerBound, range.count)
        }
    }

    /// SiLU ("swish"), `x · σ(x)`, as `torch.nn.SiLU` (EfficientNet's activation); exp by the
    /// Cephes polynomial of CNeuralKernels.
    public static func silu(_ data: UnsafeMutableBufferPointer<Float>) {
        guard let base = data.baseAddress else { return }
        nk_silu(base, data.count)
    }

    /// The logistic sigmoid, `1 / (1 + e⁻ˣ)`.
    public static func sigmoid(_ data: UnsafeMutableBufferPointer<Float>) {
        guard let base = data.baseAddress else { return }
        nk_sigmoid(base, data.count)
    }

    /// Hyperbolic tangent.
    public static func tanh(_ data: UnsafeMutableBufferPointer<Float>) {
        for i in data.indices { data[i] = tanhf(data[i]) }
    }

    /// Softmax over each run of `width` values, max-subtracted so no exponent overflows; a
    /// row of -inf (everything masked) has no distribution and becomes zeros, not NaN.
    /// Rows are split over the compute budget (`RowParallel`).
    public static func softmax(_ data: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        RowParallel.forEach(rows: rows, width: width) { range in
            nk_softmax_rows(data + range.lowerBound * width, range.count, width)
        }
    }
}

extension Tensor {
    private func mapped(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        var copy = contiguous()
        copy.withUnsafeMutableBufferPointer(body)
        return copy
    }

    public func relu() -> Tensor { mapped(Activation.relu) }
    public func gelu() -> Tensor { mapped(Activation.gelu) }
    public func tanh() -> Tensor { mapped(Activation.tanh) }
    public func silu() -> Tensor { mapped(Activation.silu) }
    public func sigmoid() -> Tensor { mapped(Activation.sigmoid) }

    /// Softmax over the last dimension.
    public func softmax() -> Tensor {
        precondition(rank >= 1, "softmax of a scalar")
        let width = shape[rank - 1]
        return mapped { Activation.softmax($0.baseAddress!, rows: width == 0 ? 0 : count / width, width: width) }
    }
}

/// Parametric ReLU, as `torch.nn.PReLU`: x for x ≥ 0, slope · x otherwise, with one slope or
/// one per channel (dimension 1 of [N, C, ...], or dimension 0 of a vector).
///
/// Checkpoint key: `<prefix>.weight` [1] or [C].
public struct PReLU: Sendable {
    public let slopes: Tensor

    public init(slopes: Tensor) {
        precondition(slopes.rank == 1 && slopes.count >= 1, "PReLU slopes must be a non-empty vector, got \(slopes.shape)")
        self.slopes = slopes.contiguous()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let channels = x.rank >= 2 ? x.shape[1] : (x.rank == 1 ? x.shape[0] : 1)
        precondition(slopes.count == 1 || slopes.count == channels,
                     "PReLU with \(slopes.count) slopes on \(channels) channels (\(x.shape))")
        let batch = x.rank >= 2 ? x.shape[0] : 1
        let positions = channels == 0 || batch == 0 ? 0 : x.count / (batch * channels)
        var y = x.contiguous()
        slopes.withUnsafeBufferPointer { slope in
            y.withUnsafeMutableBufferPointer { data in
                for n in 0..<batch {
                    for channel in 0..<channels {
                        let a = slope[slope.count == 1 ? 0 : channel]
                        let start = (n * channels + channel) * positions
                        for i in start..<(start + positions) where data[i] < 0 { data[i] *= a }
                    }
                }
            }
        }
        return y
    }
}
