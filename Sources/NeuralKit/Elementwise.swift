extension Tensor {
    /// The element-wise sum of two tensors of one shape (a residual connection).
    public func adding(_ other: Tensor) -> Tensor {
        precondition(shape == other.shape, "adding \(other.shape) to \(shape)")
        let a = contiguous(), b = other.contiguous()
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                Tensor(shape: shape) { out in
                    for i in 0..<out.count { out[i] = x[i] + y[i] }
                }
            }
        }
    }

    /// Every element times `factor`.
    public func scaled(by factor: Float) -> Tensor {
        let source = contiguous()
        return source.withUnsafeBufferPointer { v in
            Tensor(shape: shape) { out in for i in 0..<out.count { out[i] = v[i] * factor } }
        }
    }
}

extension Tensor {
    /// Adds `other` (same shape) in place: a residual connection without a new tensor when this
    /// one owns its storage alone.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "adding \(other.shape) to \(shape)")
        other.withUnsafeBufferPointer { y in
            withUnsafeMutableBufferPointer { x in
                for i in 0..<x.count { x[i] += y[i] }
            }
        }
    }

    /// Multiplies each channel plane of [N, C, ...] by its factor in `scales` [N, C], in
    /// place (squeeze-and-excitation's gate).
    public mutating func scaleChannels(by scales: Tensor) {
        precondition(rank >= 2 && scales.shape == [shape[0], shape[1]], "channel scales \(scales.shape) for \(shape)")
        let planes = shape[0] * shape[1]
        let positions = planes == 0 ? 0 : count / planes
        scales.withUnsafeBufferPointer { s in
            withUnsafeMutableBufferPointer { x in
                for plane in 0..<planes {
                    let factor = s[plane]
                    let base = x.baseAddress! + plane * positions
                    for i in 0..<positions { base[i] *= factor }
                }
            }
        }
    }

    /// SiLU in place (no copy when this tensor owns its storage alone).
    public mutating func applySiLU() { withUnsafeMutableBufferPointer(Activation.silu) }
}
