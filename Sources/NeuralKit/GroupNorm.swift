/// Group normalisation of [N, C, ...], as `torch.nn.GroupNorm(groups, channels)`: statistics
/// over each group of C / groups channels and all positions, affine per channel.
///
/// Checkpoint keys: `<prefix>.weight` [C], `<prefix>.bias` [C].
public struct GroupNorm: Sendable {
    public let groups: Int
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float

    public init(groups: Int, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) {
        precondition(weight.rank == 1 && bias.shape == weight.shape, "group norm weight \(weight.shape), bias \(bias.shape)")
        precondition(groups > 0 && weight.shape[0] % groups == 0,
                     "group norm: \(weight.shape[0]) channels do not split into \(groups) groups")
        self.groups = groups
        self.weight = weight.contiguous()
        self.bias = bias.contiguous()
        self.epsilon = epsilon
    }

    public var channels: Int { weight.shape[0] }

    /// [N, C, ...] → the same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "group norm over \(channels) channels, got \(x.shape)")
        let batch = x.shape[0]
        let positions = x.count / (batch * channels)
        let groupChannels = channels / groups
        var y = x.contiguous()
        weight.withUnsafeBufferPointer { gamma in
            bias.withUnsafeBufferPointer { beta in
                y.withUnsafeMutableBufferPointer { data in
                    for n in 0..<batch {
                        for group in 0..<groups {
                            let firstChannel = group * groupChannels
                            let start = data.baseAddress! + (n * channels + firstChannel) * positions
                            Normalization.normalize(start, count: groupChannels * positions, epsilon: epsilon) { i, value in
                                let channel = firstChannel + i / positions
                                return value * gamma[channel] + beta[channel]
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
