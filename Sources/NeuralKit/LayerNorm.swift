import CNeuralKernels

/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm(features)`.
///
/// Checkpoint keys: `<prefix>.weight` [features], `<prefix>.bias` [features].
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float

    public init(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) {
        precondition(weight.rank == 1 && bias.shape == weight.shape,
                     "layer norm weight \(weight.shape) and bias \(bias.shape) must be equal vectors")
        self.weight = weight.contiguous()
        self.bias = bias.contiguous()
        self.epsilon = epsilon
    }

    public var features: Int { weight.shape[0] }

    /// [..., features] → the same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == features, "layer norm over \(features) features, got \(x.shape)")
        var y = x.contiguous()
        y.withUnsafeMutableBufferPointer { apply(rows: x.count / features, to: $0.baseAddress!) }
        return y
    }

    /// Normalises `rows` rows of `features` values in place, the rows split over the compute
    /// budget (`RowParallel`).
    public func apply(rows: Int, to data: UnsafeMutablePointer<Float>) {
        let (features, epsilon) = (features, epsilon)
        weight.withUnsafeBufferPointer { gamma in
            bias.withUnsafeBufferPointer { beta in
                RowParallel.forEach(rows: rows, width: features) { range in
                    nk_layer_norm_rows(data + range.lowerBound * features, range.count, features,
                                       gamma.baseAddress!, beta.baseAddress!, epsilon)
                }
            }
        }
    }
}

/// Shared arithmetic of the normalisation layers.
enum Normalization {
    /// Mean and biased variance of `count` values, two passes (accurate where a running
    /// sum of squares cancels).
    @inline(__always)
    static func moments(_ data: UnsafePointer<Float>, count: Int) -> (mean: Float, variance: Float) {
        var sum: Float = 0
        for i in 0..<count { sum += data[i] }
        let mean = sum / Float(count)
        var squares: Float = 0
        for i in 0..<count {
            let d = data[i] - mean
            squares += d * d
        }
        return (mean, squares / Float(count))
    }

    /// Normalises `count` values to zero mean and unit variance, then applies `affine`
    /// (given the element index and the normalised value).
    @inline(__always)
    static func normalize(
        _ data: UnsafeMutablePointer<Float>, count: Int, epsilon: Float,
        affine: (Int, Float) -> Float
    ) {
        let (mean, variance) = moments(data, count: count)
        let inverse = 1 / (variance + epsilon).squareRoot()
        for i in 0..<count { data[i] = affine(i, (data[i] - mean) * inverse) }
    }
}
