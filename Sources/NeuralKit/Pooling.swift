/// The window of a 2-D pooling layer, with PyTorch's semantics (`MaxPool2d`, `AvgPool2d`).
public struct PoolingWindow: Sendable {
    public var kernel: (height: Int, width: Int)
    public var stride: (height: Int, width: Int)
    /// Padding on each side (PyTorch pads symmetrically; at most half the kernel).
    public var padding: (height: Int, width: Int)
    /// Round the output size up, so a partial window at the end counts (MTCNN's nets use it).
    public var ceilMode: Bool

    /// `stride` defaults to the kernel, as in PyTorch.
    public init(kernel: (height: Int, width: Int), stride: (height: Int, width: Int)? = nil,
                padding: (height: Int, width: Int) = (0, 0), ceilMode: Bool = false) {
        precondition(kernel.height > 0 && kernel.width > 0, "pooling kernel must be positive")
        let stride = stride ?? kernel
        precondition(stride.height > 0 && stride.width > 0, "pooling stride must be positive")
        precondition(padding.height >= 0 && padding.width >= 0
                     && padding.height * 2 <= kernel.height && padding.width * 2 <= kernel.width,
                     "pooling padding must be at most half the kernel")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.ceilMode = ceilMode
    }

    /// Output extent along one axis, with PyTorch's rule that the last window must start
    /// inside the input or its left padding.
    static func outputExtent(input: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
        let span = input + 2 * padding - kernel
        guard span >= 0 else { return 0 }
        var extent = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if ceilMode && (extent - 1) * stride >= input + padding { extent -= 1 }
        return extent
    }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (Self.outputExtent(input: height, kernel: kernel.height, stride: stride.height, padding: padding.height, ceilMode: ceilMode),
         Self.outputExtent(input: width, kernel: kernel.width, stride: stride.width, padding: padding.width, ceilMode: ceilMode))
    }
}

extension Tensor {
    /// Max pooling of [N, C, H, W] (or [C, H, W]); padding never wins.
    public func maxPool2d(_ window: PoolingWindow) -> Tensor {
        pool2d(window) { values, _ in
            var best = -Float.infinity
            for value in values { best = Swift.max(best, value) }
            return best
        }
    }

    /// Average pooling of [N, C, H, W] (or [C, H, W]). With `countIncludePad` the divisor
    /// counts padding cells (PyTorch's default), otherwise only cells inside the input.
    public func avgPool2d(_ window: PoolingWindow, countIncludePad: Bool = true) -> Tensor {
        pool2d(window) { values, paddedCount in
            var sum: Float = 0
            for value in values { sum += value }
            return sum / Float(countIncludePad ? paddedCount : values.count)
        }
    }

    /// Mean over H and W of [N, C, H, W] → [N, C].
    public func globalAvgPool2d() -> Tensor {
        precondition(rank == 4, "global average pool takes [N, C, H, W], got \(shape)")
        let positions = shape[2] * shape[3]
        return withUnsafeBufferPointer { source in
            Tensor(shape: [shape[0], shape[1]]) { out in
                for plane in 0..<(shape[0] * shape[1]) {
                    var sum: Float = 0
                    for i in 0..<positions { sum += source[plane * positions + i] }
                    out[plane] = sum / Float(positions)
                }
            }
        }
    }

    /// Runs `reduce` over each window's in-bounds values; it also gets the size of the window
    /// clipped to the padded input (PyTorch's divisor with count_include_pad).
    private func pool2d(_ window: PoolingWindow, reduce: ([Float], Int) -> Float) -> Tensor {
        precondition(rank == 3 || rank == 4, "2-D pooling takes [N, C, H, W] or [C, H, W], got \(shape)")
        let input = rank == 4 ? self : reshaped([1] + shape)
        let (planes, height, width) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (outHeight, outWidth) = window.outputSize(height: height, width: width)
        var values: [Float] = []
        values.reserveCapacity(window.kernel.height * window.kernel.width)
        let output = input.withUnsafeBufferPointer { source in
            Tensor(shape: [input.shape[0], input.shape[1], outHeight, outWidth]) { out in
                for plane in 0..<planes {
                    let base = plane * height * width
                    for oy in 0..<outHeight {
                        let y0 = oy * window.stride.height - window.padding.height
                        let y1 = Swift.min(y0 + window.kernel.height, height + window.padding.height)
                        for ox in 0..<outWidth {
                            let x0 = ox * window.stride.width - window.padding.width
                            let x1 = Swift.min(x0 + window.kernel.width, width + window.padding.width)
                            let paddedCount = (y1 - y0) * (x1 - x0)
                            values.removeAll(keepingCapacity: true)
                            for y in stride(from: Swift.max(y0, 0), to: Swift.min(y1, height), by: 1) {
                                for x in stride(from: Swift.max(x0, 0), to: Swift.min(x1, width), by: 1) {
                                    values.append(source[base + y * width + x])
                                }
                            }
                            out[(plane * outHeight + oy) * outWidth + ox] = reduce(values, paddedCount)
                        }
                    }
                }
            }
        }
        return rank == 4 ? output : output.reshaped(Array(output.shape.dropFirst()))
    }
}
