/// The window of a 2-D pooling layer: PyTorch's semantics (`MaxPool2d`, `AvgPool2d`), or
/// TensorFlow's "same" padding (Keras `MaxPooling2D(padding="same")`).
public struct PoolingWindow: Sendable {
    public var kernel: (height: Int, width: Int)
    public var stride: (height: Int, width: Int)
    /// Padding on each side (PyTorch pads symmetrically; at most half the kernel). Ignored
    /// with `tensorFlowSame`.
    public var padding: (height: Int, width: Int)
    /// Round the output size up, so a partial window at the end counts (Caffe-era nets use it).
    public var ceilMode: Bool
    /// TensorFlow's "same": output ⌈input / stride⌉, the total padding split with the odd
    /// cell after; padded cells never win a max and are not counted in a mean.
    public var tensorFlowSame: Bool

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
        self.tensorFlowSame = false
    }

    /// Keras `MaxPooling2D(pool_size: kernel, strides: stride, padding="same")`.
    public static func tensorFlowSame(kernel: (height: Int, width: Int), stride: (height: Int, width: Int)) -> PoolingWindow {
        var window = PoolingWindow(kernel: kernel, stride: stride)
        window.tensorFlowSame = true
        return window
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

    /// Output extent and the padding before the first cell, along one axis.
    func axis(input: Int, kernel: Int, stride: Int, padding: Int) -> (output: Int, before: Int) {
        if tensorFlowSame {
            let output = (input + stride - 1) / stride
            let total = Swift.max((output - 1) * stride + kernel - input, 0)
            return (output, total / 2)
        }
        return (Self.outputExtent(input: input, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode), padding)
    }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (axis(input: height, kernel: kernel.height, stride: stride.height, padding: padding.height).output,
         axis(input: width, kernel: kernel.width, stride: stride.width, padding: padding.width).output)
    }
}

extension Tensor {
    /// Max pooling of [N, C, H, W] (or [C, H, W]); padding never wins.
    public func maxPool2d(_ window: PoolingWindow) -> Tensor {
        pool2d(window, max: true, countIncludePad: false)
    }

    /// Average pooling of [N, C, H, W] (or [C, H, W]). With `countIncludePad` the divisor
    /// counts padding cells (PyTorch's default), otherwise only cells inside the input.
    /// TensorFlow's "same" never counts padding.
    public func avgPool2d(_ window: PoolingWindow, countIncludePad: Bool = true) -> Tensor {
        pool2d(window, max: false, countIncludePad: countIncludePad && !window.tensorFlowSame)
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

    /// One pass over each window's in-bounds cells. The padded-window size (PyTorch's divisor
    /// with count_include_pad) is the window clipped to the padded input.
    private func pool2d(_ window: PoolingWindow, max: Bool, countIncludePad: Bool) -> Tensor {
        precondition(rank == 3 || rank == 4, "2-D pooling takes [N, C, H, W] or [C, H, W], got \(shape)")
        let input = contiguous()
        let batched = rank == 4 ? input : input.reshaped([1] + shape)
        let (planes, height, width) = (batched.shape[0] * batched.shape[1], batched.shape[2], batched.shape[3])
        let rows = window.axis(input: height, kernel: window.kernel.height, stride: window.stride.height, padding: window.padding.height)
        let columns = window.axis(input: width, kernel: window.kernel.width, stride: window.stride.width, padding: window.padding.width)
        let (outHeight, outWidth) = (rows.output, columns.output)
        // PyTorch's padded extent: windows are clipped to input + padding on each side.
        let paddedHeight = height + window.padding.height, paddedWidth = width + window.padding.width
        let output = batched.withUnsafeBufferPointer { source in
            Tensor(shape: [batched.shape[0], batched.shape[1], outHeight, outWidth]) { out in
                for plane in 0..<planes {
                    let base = source.baseAddress! + plane * height * width
                    let target = out.baseAddress! + plane * outHeight * outWidth
                    for oy in 0..<outHeight {
                        let y0 = oy * window.stride.height - rows.before
                        let y1 = y0 + window.kernel.height
                        let (top, bottom) = (Swift.max(y0, 0), Swift.min(y1, height))
                        for ox in 0..<outWidth {
                            let x0 = ox * window.stride.width - columns.before
                            let x1 = x0 + window.kernel.width
                            let (left, right) = (Swift.max(x0, 0), Swift.min(x1, width))
                            var value: Float
                            if max {
                                value = -.infinity
                                for y in top..<Swift.max(bottom, top) {
                                    for x in left..<Swift.max(right, left) { value = Swift.max(value, base[y * width + x]) }
                                }
                            } else {
                                value = 0
                                for y in top..<Swift.max(bottom, top) {
                                    for x in left..<Swift.max(right, left) { value += base[y * width + x] }
                                }
                                let divisor = countIncludePad
                                    ? (Swift.min(y1, paddedHeight) - y0) * (Swift.min(x1, paddedWidth) - x0)
                                    : Swift.max(bottom - top, 0) * Swift.max(right - left, 0)
                                value /= Float(divisor)
                            }
                            target[oy * outWidth + ox] = value
                        }
                    }
                }
            }
        }
        return rank == 4 ? output : output.reshaped(Array(output.shape.dropFirst()))
    }
}
