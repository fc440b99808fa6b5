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
