/// Batch normalisation at inference, as `torch.nn.BatchNorm{1,2}d` in eval mode: the running
/// statistics make it one affine map per channel, `y = x · scale + shift`.
///
/// Checkpoint keys: `<prefix>.weight`, `<prefix>.bias`, `<prefix>.running_mean`,
/// `<prefix>.running_var` (all [C]); `num_batches_tracked` is training state and unused.
public struct BatchNorm: Sendable {
    /// γ / √(σ² + ε) per channel.
    public let scale: Tensor
    /// β − μ · scale per channel.
    public let shift: Tensor

    public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float = 1e-5) {
        let channels = weight.count
        precondition(weight.rank == 1 && [bias, runningMean, runningVariance].allSatisfy { $0.shape == [channels] },
                     "batch norm parameters must be [C] vectors of one length")
        let gamma = weight.scalars, beta = bias.scalars
        let mean = runningMean.scalars, variance = runningVariance.scalars
        let scale = (0..<channels).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
        self.scale = Tensor(shape: [channels], scalars: scale)
        self.shift = Tensor(shape: [channels], scalars: (0..<channels).map { beta[$0] - mean[$0] * scale[$0] })
    }

    public var channels: Int { scale.shape[0] }

    /// [N, C, ...] → the same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "batch norm over \(channels) channels, got \(x.shape)")
        let batch = x.shape[0]
        let positions = x.count / (batch * channels)
        var y = x.contiguous()
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                y.withUnsafeMutableBufferPointer { data in
                    for n in 0..<batch {
                        for channel in 0..<channels {
                            let start = (n * channels + channel) * positions
                            let (a, b) = (scale[channel], shift[channel])
                            for i in start..<(start + positions) { data[i] = data[i] * a + b }
                        }
                    }
                }
            }
        }
        return y
    }
}
