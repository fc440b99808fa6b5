import CNeuralKernels

/// How a convolution or pooling window pads its input.
public enum Padding: Sendable, Equatable {
    /// Zeros added on each side, which may differ (as after an asymmetric TensorFlow "same").
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
    /// TensorFlow's "same": output size ⌈input / stride⌉, the total padding split with the
    /// odd element on the bottom/right.
    case same

    /// No padding.
    public static let valid = Padding.explicit(top: 0, bottom: 0, left: 0, right: 0)

    /// The same padding on every side, as PyTorch's `padding=p`.
    public static func symmetric(_ height: Int, _ width: Int) -> Padding {
        .explicit(top: height, bottom: height, left: width, right: width)
    }

    /// Padding for a 1-D convolution (the width axis).
    public static func sides(left: Int, right: Int) -> Padding {
        .explicit(top: 0, bottom: 0, left: left, right: right)
    }

    /// Padding before and after, and the output extent, along one axis.
    func resolve(input: Int, kernel: Int, stride: Int, dilation: Int, axisIsHeight: Bool)
        -> (before: Int, after: Int, output: Int)
    {
        let span = dilation * (kernel - 1) + 1
        switch self {
        case .explicit(let top, let bottom, let left, let right):
            let before = axisIsHeight ? top : left
            let after = axisIsHeight ? bottom : right
            let padded = input + before + after
            return (before, after, padded >= span ? (padded - span) / stride + 1 : 0)
        case .same:
            let output = (input + stride - 1) / stride
            let total = max((output - 1) * stride + span - input, 0)
            return (total / 2, total - total / 2, output)
        }
    }
}

/// The geometry of a 2-D convolution, everything but the weights.
public struct ConvolutionGeometry: Sendable, Equatable {
    public var stride: (height: Int, width: Int)
    public var padding: Padding
    public var dilation: (height: Int, width: Int)
    /// Input and output channels are split into this many independent groups; equal to the
    /// input channel count for a depthwise convolution.
    public var groups: Int

    public init(
        stride: (height: Int, width: Int) = (1, 1), padding: Padding = .valid,
        dilation: (height: Int, width: Int) = (1, 1), groups: Int = 1
    ) {
        precondition(stride.height > 0 && stride.width > 0, "stride must be positive")
        precondition(dilation.height > 0 && dilation.width > 0, "dilation must be positive")
        precondition(groups > 0, "groups must be positive")
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    public static func == (a: ConvolutionGeometry, b: ConvolutionGeometry) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }
}

/// A 2-D convolution with PyTorch's weight layout, computed by im2col and one sgemm per
/// group (a vectorised direct kernel for depthwise, where the GEMM's inner dimension would be
/// tiny: `nk_depthwise_conv2d`), or on oneDNN's convolution primitive when `Compute.current`
/// names oneDNN as the convolution is created.
///
/// On oneDNN the F32 weight is kept beside the reordered one: convolution weights are mostly
/// small (EfficientNet-B0's 16 MB in all), and folding, channel scaling and the `weight`
/// property read it. A large one can be held once, laid out at load (`init(…layingOutFor:)`).
/// A convolution oneDNN would only run with its reference loops (`ref:`) stays on NeuralKit's
/// own path.
///
/// Checkpoint keys: `<prefix>.weight` [out, in / groups, kh, kw], `<prefix>.bias` [out].
public struct Conv2d: Sendable {
    /// [outputChannels, inputChannels / groups, kernelHeight, kernelWidth]; rebuilt from
    /// oneDNN's copy (rounded to BF16 when held so) for a convolution laid out at load.
    public var weight: Tensor { plainWeight ?? oneDNN!.weight() }
    /// The F32 weight, or nil when only oneDNN's laid-out copy is kept.
    private let plainWeight: Tensor?
    /// The weight's shape, read on every call.
    private let weightShape: [Int]
    /// [outputChannels], or nil.
    public let bias: Tensor?
    public let geometry: ConvolutionGeometry
    /// The backend asked for at creation (kept for the convolutions derived from this one).
    let requestedCompute: Compute
    /// oneDNN's primitive and weight, or nil on OpenBLAS.
    let oneDNN: OneDNNConvolution?

    /// - Parameter layingOutFor: on oneDNN, an input size to lay the weight out for now;
    ///   the plain F32 weight is then not kept (a later size that wants another layout gets
    ///   it from this one). For a large weight, such as a sequence model's positional
    ///   convolution, whose copy would double its memory. Ignored on OpenBLAS, or where oneDNN
    ///   has only its reference loops for that size.
    public init(weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry = ConvolutionGeometry(), compute: Compute = .current,
                layingOutFor size: (batch: Int, height: Int, width: Int)? = nil) {
        precondition(weight.rank == 4, "conv2d weight must be [out, in/groups, kh, kw], got \(weight.shape)")
        precondition(weight.shape[0] % geometry.groups == 0,
                     "conv2d: \(weight.shape[0]) output channels do not split into \(geometry.groups) groups")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d bias \(bias.shape) for weight \(weight.shape)") }
        let weight = weight.contiguous()
        weightShape = weight.shape
        self.bias = bias?.contiguous()
        self.geometry = geometry
        requestedCompute = compute
        switch compute.backend {
        case .openBLAS:
            precondition(compute.precision == .f32, "\(ComputeError.bf16NeedsOneDNN)")
            oneDNN = nil
            plainWeight = weight
        case .oneDNN:
            let oneDNN = OneDNNConvolution(weight: weight, bias: self.bias, geometry: geometry, precision: compute.precision)
            self.oneDNN = oneDNN
            if let size, (try? oneDNN.runs(batch: size.batch, height: size.height, width: size.width, activatingOutput: false)) == true {
                oneDNN.releasePlainWeight()
                plainWeight = nil
            } else {
                plainWeight = weight
            }
        }
    }

    /// Whether oneDNN runs this input shape with a real kernel; its reference loops (`ref:`),
    /// far slower than NeuralKit's own path, are left for that path.
    func runsOnOneDNN(batch: Int, height: Int, width: Int, activatingOutput: Bool) -> Bool {
        guard let oneDNN else { return false }
        do { return try oneDNN.runs(batch: batch, height: height, width: width, activatingOutput: activatingOutput) } catch {
            preconditionFailure("conv2d \(weight.shape) on oneDNN \(oneDNN.precision): \(error)")
        }
    }

    /// The backend and precision this convolution runs on.
    public var compute: Compute { oneDNN.map { Compute(backend: .oneDNN, precision: $0.precision) } ?? .openBLAS }

    /// oneDNN's implementation for an input of this size (`jit:avx512_core`, `brg_conv_fwd:…`),
    /// or OpenBLAS's kernel family.
    public func implementation(batch: Int = 1, height: Int, width: Int) throws(OneDNNError) -> String {
        guard let oneDNN else { return "OpenBLAS \(BLAS.coreName)" + (plan(height: height, width: width).isDepthwise ? " (NeuralKit depthwise)" : "") }
        return try oneDNN.implementation(batch: batch, height: height, width: width)
    }

    public var outputChannels: Int { weightShape[0] }
    public var inputChannels: Int { weightShape[1] * geometry.groups }
    public var kernel: (height: Int, width: Int) { (weightShape[2], weightShape[3]) }

    /// Output height and width for an input of `height` × `width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let h = geometry.padding.resolve(input: height, kernel: kernel.height, stride: geometry.stride.height,
                                         dilation: geometry.dilation.height, axisIsHeight: true)
        let w = geometry.padding.resolve(input: width, kernel: kernel.width, stride: geometry.stride.width,
                                         dilation: geometry.dilation.width, axisIsHeight: false)
        return (h.output, w.output)
    }

    /// [N, C, H, W] (or [C, H, W]) → [N, outC, outH, outW] (or [outC, outH, outW]).
    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, activatingOutput: false) }

    /// The convolution followed by SiLU when `activatingOutput` (fused into oneDNN's primitive
    /// as a post-op; a second pass on OpenBLAS).
    public func callAsFunction(_ x: Tensor, activatingOutput: Bool) -> Tensor {
        let batched = x.rank == 4
        precondition(x.rank == 3 || x.rank == 4, "conv2d takes [N, C, H, W] or [C, H, W], got \(x.shape)")
        let input = batched ? x : x.reshaped([1] + x.shape)
        let (batch, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        precondition(channels == inputChannels, "conv2d expects \(inputChannels) input channels, got \(channels)")
        let plan = plan(height: height, width: width)
        if let oneDNN, runsOnOneDNN(batch: batch, height: height, width: width, activatingOutput: activatingOutput) {
            let source = input.contiguous()
            let output = Tensor(shape: [batch, outputChannels, plan.outputHeight, plan.outputWidth]) { out in
                guard plan.outputPixels > 0 else { return }
                source.withUnsafeBufferPointer { x in
                    oneDNN.apply(batch: batch, height: height, width: width, input: x.baseAddress!, output: out.baseAddress!, activatingOutput: activatingOutput)
                }
            }
            return batched ? output : output.reshaped(Array(output.shape.dropFirst()))
        }
        let output = Tensor(shape: [batch, outputChannels, plan.outputHeight, plan.outputWidth]) { out in
            input.withUnsafeBufferPointer { source in
                weight.withUnsafeBufferPointer { w in
                    let biasPointer = bias.map { b in b.withUnsafeBufferPointer { Array($0) } }
                    // im2col and the depthwise padding write every element they use, so the
                    // scratch needs no zero fill.
                    let scratch = plan.scratchCount > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: plan.scratchCount) : nil
                    defer { scratch?.deallocate() }
                    for n in 0..<batch {
                        plan.run(
                            input: source.baseAddress! + n * plan.inputCount,
                            weight: w.baseAddress!, bias: biasPointer,
                            output: out.baseAddress! + n * plan.outputCount,
                            scratch: scratch)
                    }
                }
            }
        }
        var result = batched ? output : output.reshaped(Array(output.shape.dropFirst()))
        if activatingOutput { result.applySiLU() }
        return result
    }

    /// [N, H, W, C] → [N, outH, outW, outC] (channels last), plus `residual` [N, outH, outW,
    /// outC] when given, then SiLU when `activatingOutput`. On oneDNN this is the layout its
    /// AVX-512 convolutions use themselves, so a network kept in it (EfficientNet's oneDNN
    /// path) runs without a reorder between layers, the residual and SiLU fused as post-ops;
    /// on OpenBLAS it transposes around the channels-first convolution.
    public func channelsLast(_ x: Tensor, activatingOutput: Bool = false, adding residual: Tensor? = nil) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == inputChannels, "channels-last conv2d expects [N, H, W, \(inputChannels)], got \(x.shape)")
        let (batch, height, width) = (x.shape[0], x.shape[1], x.shape[2])
        let plan = plan(height: height, width: width)
        let shape = [batch, plan.outputHeight, plan.outputWidth, outputChannels]
        if let residual { precondition(residual.shape == shape, "residual \(residual.shape) for an output \(shape)") }
        if let oneDNN, (try? oneDNN.runs(batch: batch, height: height, width: width, activatingOutput: activatingOutput,
                                         accumulate: residual != nil, layout: .channelsLast)) == true {
            let source = x.contiguous()
            if plan.outputPixels == 0 { return residual ?? Tensor(shape: shape) }
            // The primitive writes every element (or adds to the residual's copy).
            var output = residual?.contiguous() ?? Tensor(shape: shape) { _ in }
            source.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    oneDNN.apply(batch: batch, height: height, width: width, input: input.baseAddress!, output: out.baseAddress!,
                                 activatingOutput: activatingOutput, accumulate: residual != nil, layout: .channelsLast)
                }
            }
            return output
        }
        var y = self(x.transposed(2, 3).transposed(1, 2).contiguous()).transposed(1, 2).transposed(2, 3).contiguous()
        if let residual { y.add(residual) }
        if activatingOutput { y.applySiLU() }
        return y
    }

    /// A depthwise convolution fused with what surrounds it in EfficientNet's and MobileNet's
    /// blocks, in one pass over memory: SiLU on the input as it is read (`activatingInput`: the
    /// activation of the expansion conv before), SiLU on the output (`activatingOutput`), and the
    /// mean of each output channel (squeeze-and-excitation's pooling). [N, C, H, W] →
    /// ([N, outC, outH, outW], means [N, outC]).
    public func depthwise(_ x: Tensor, activatingInput: Bool, activatingOutput: Bool) -> (output: Tensor, channelMeans: Tensor) {
        precondition(x.rank == 4 && x.shape[1] == inputChannels, "conv2d expects [N, \(inputChannels), H, W], got \(x.shape)")
        let plan = plan(height: x.shape[2], width: x.shape[3])
        precondition(plan.isDepthwise, "the fused depthwise pass of a convolution with \(plan.groupChannels) input channels per group")
        if runsOnOneDNN(batch: x.shape[0], height: x.shape[2], width: x.shape[3], activatingOutput: activatingOutput) {
            // oneDNN's depthwise primitive takes SiLU as a post-op; the input's SiLU and the
            // channel means are passes of their own.
            var input = x
            if activatingInput { input.applySiLU() }
            let output = self(input, activatingOutput: activatingOutput)
            return (output, output.globalAvgPool2d())
        }
        let batch = x.shape[0]
        let input = x.contiguous()
        var means = Tensor(shape: [batch, outputChannels])
        let output = Tensor(shape: [batch, outputChannels, plan.outputHeight, plan.outputWidth]) { out in
            guard plan.outputPixels > 0 else { return }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: plan.scratchCount)
            defer { scratch.deallocate() }
            means.withUnsafeMutableBufferPointer { m in
                input.withUnsafeBufferPointer { source in
                    weight.withUnsafeBufferPointer { w in
                        func run(_ biases: UnsafePointer<Float>?) {
                            for n in 0..<batch {
                                nk_depthwise_conv2d(source.baseAddress! + n * plan.inputCount, plan.channels, plan.height, plan.width,
                                                    w.baseAddress!, biases, plan.groupOutputChannels,
                                                    plan.kernelHeight, plan.kernelWidth, plan.strideHeight, plan.strideWidth,
                                                    plan.dilationHeight, plan.dilationWidth, plan.padTop, plan.padLeft,
                                                    out.baseAddress! + n * plan.outputCount, plan.outputHeight, plan.outputWidth, scratch,
                                                    activatingInput ? 1 : 0, activatingOutput ? 1 : 0, m.baseAddress! + n * outputChannels)
                            }
                        }
                        if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                    }
                }
            }
        }
        return (output, means)
    }

    /// This convolution on `x` [N, C, H, W] whose channels are first multiplied by `scales`
    /// [N, C] (squeeze-and-excitation's gate), computed by scaling the weight's input columns
    /// per image instead of the activations: a few thousand multiplications instead of a pass
    /// over the feature map. Ungrouped convolutions only.
    public func scalingInputChannels(_ x: Tensor, by scales: Tensor) -> Tensor {
        precondition(geometry.groups == 1, "input-channel scaling of a grouped convolution")
        precondition(x.rank == 4 && scales.shape == [x.shape[0], inputChannels], "channel scales \(scales.shape) for \(x.shape)")
        if runsOnOneDNN(batch: x.shape[0], height: x.shape[2], width: x.shape[3], activatingOutput: false) {
            // oneDNN's weight is laid out once per shape: scale the activations instead.
            var scaled = x.contiguous()
            let pixels = x.shape[2] * x.shape[3]
            scales.contiguous().withUnsafeBufferPointer { factors in
                scaled.withUnsafeMutableBufferPointer { values in
                    for plane in 0..<(x.shape[0] * inputChannels) {
                        let factor = factors[plane]
                        let base = plane * pixels
                        for i in 0..<pixels { values[base + i] *= factor }
                    }
                }
            }
            return self(scaled)
        }
        let perChannel = kernel.height * kernel.width
        let factors = scales.scalars
        let images = (0..<x.shape[0]).map { n -> Tensor in
            var scaled = weight
            scaled.withUnsafeMutableBufferPointer { w in
                for o in 0..<outputChannels {
                    for c in 0..<inputChannels {
                        let factor = factors[n * inputChannels + c]
                        let base = (o * inputChannels + c) * perChannel
                        for i in 0..<perChannel { w[base + i] *= factor }
                    }
                }
            }
            return Conv2d(weight: scaled, bias: bias, geometry: geometry, compute: .openBLAS)(x.rows(n..<(n + 1)))
        }
        guard images.count > 1 else { return images[0] }
        let each = images[0].count
        return Tensor(shape: [images.count] + Array(images[0].shape.dropFirst())) { out in
            for (n, image) in images.enumerated() {
                image.withUnsafeBufferPointer { (out.baseAddress! + n * each).update(from: $0.baseAddress!, count: each) }
            }
        }
    }

    /// The plan of this convolution on a `height` × `width` input.
    func plan(height: Int, width: Int) -> ConvolutionPlan {
        let rows = geometry.padding.resolve(input: height, kernel: kernel.height, stride: geometry.stride.height,
                                            dilation: geometry.dilation.height, axisIsHeight: true)
        let columns = geometry.padding.resolve(input: width, kernel: kernel.width, stride: geometry.stride.width,
                                               dilation: geometry.dilation.width, axisIsHeight: false)
        return ConvolutionPlan(
            channels: inputChannels, height: height, width: width,
            outputChannels: outputChannels, outputHeight: rows.output, outputWidth: columns.output,
            kernelHeight: kernel.height, kernelWidth: kernel.width,
            strideHeight: geometry.stride.height, strideWidth: geometry.stride.width,
            dilationHeight: geometry.dilation.height, dilationWidth: geometry.dilation.width,
            padTop: rows.before, padLeft: columns.before, groups: geometry.groups)
    }

    /// A depthwise convolution by the direct scalar loop the vectorised kernel replaced (about
    /// 3 GFLOP/s): the reference the kernel's tests and NeuralKitBenchmarks compare against.
    /// [N, C, H, W] → [N, outC, outH, outW]; only for one input channel per group.
    public func depthwiseReference(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inputChannels, "conv2d expects [N, \(inputChannels), H, W], got \(x.shape)")
        let plan = plan(height: x.shape[2], width: x.shape[3])
        precondition(plan.isDepthwise, "depthwiseReference of a convolution with \(plan.groupChannels) input channels per group")
        let input = x.contiguous()
        return Tensor(shape: [x.shape[0], outputChannels, plan.outputHeight, plan.outputWidth]) { out in
            input.withUnsafeBufferPointer { source in
                weight.withUnsafeBufferPointer { w in
                    let biases = bias?.scalars
                    for n in 0..<x.shape[0] {
                        let destination = out.baseAddress! + n * plan.outputCount
                        for channel in 0..<outputChannels {
                            (destination + channel * plan.outputPixels).initialize(repeating: biases?[channel] ?? 0, count: plan.outputPixels)
                        }
                        plan.runDepthwiseReference(input: source.baseAddress! + n * plan.inputCount, weight: w.baseAddress!, output: destination)
                    }
                }
            }
        }
    }

    /// This convolution followed by `norm`, as one convolution: the inference-time batch
    /// norm is an affine map per output channel, so it folds into weight and bias.
    public func folding(_ norm: BatchNorm) -> Conv2d {
        precondition(norm.channels == outputChannels,
                     "batch norm over \(norm.channels) channels after a conv with \(outputChannels)")
        let perChannel = weight.count / outputChannels
        let scale = norm.scale.scalars
        let shift = norm.shift.scalars
        var folded = weight
        folded.withUnsafeMutableBufferPointer { w in
            for channel in 0..<outputChannels {
                for i in 0..<perChannel { w[channel * perChannel + i] *= scale[channel] }
            }
        }
        let oldBias = bias?.scalars ?? [Float](repeating: 0, count: outputChannels)
        let newBias = (0..<outputChannels).map { oldBias[$0] * scale[$0] + shift[$0] }
        return Conv2d(weight: folded, bias: Tensor(shape: [outputChannels], scalars: newBias), geometry: geometry, compute: requestedCompute)
    }
}

/// A 1-D convolution, [N, C, L] → [N, outC, outL], run as a 2-D one of height 1.
///
/// Checkpoint keys: `<prefix>.weight` [out, in / groups, k], `<prefix>.bias` [out].
public struct Conv1d: Sendable {
    let conv: Conv2d

    /// `padding` is applied along the length (`.sides(left:right:)`, `.same`, `.valid`);
    /// `layingOutFor` a length: as `Conv2d`'s, the weight held once, laid out for it now.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding = .valid,
                dilation: Int = 1, groups: Int = 1, compute: Compute = .current, layingOutFor length: Int? = nil) {
        precondition(weight.rank == 3, "conv1d weight must be [out, in/groups, k], got \(weight.shape)")
        if case .explicit(let top, let bottom, _, _) = padding {
            precondition(top == 0 && bottom == 0, "conv1d pads only along its length")
        }
        conv = Conv2d(
            weight: weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2]]), bias: bias,
            geometry: ConvolutionGeometry(stride: (1, stride), padding: padding, dilation: (1, dilation), groups: groups),
            compute: compute, layingOutFor: length.map { (1, 1, $0) })
    }

    public var weight: Tensor {
        let weight = conv.weight
        return weight.reshaped([weight.shape[0], weight.shape[1], weight.shape[3]])
    }

    /// Whether the plain F32 weight is held beside oneDNN's copy (tests).
    var holdsPlainWeight: Bool { conv.oneDNN?.holdsPlainWeight ?? true }
    public var bias: Tensor? { conv.bias }

    /// oneDNN's implementation for an input of `length` samples, or OpenBLAS's kernel family.
    public func implementation(length: Int) throws(OneDNNError) -> String {
        try conv.implementation(height: 1, width: length)
    }

    /// Output length for an input of `length` samples.
    public func outputLength(_ length: Int) -> Int { conv.outputSize(height: 1, width: length).width }

    /// [N, C, L] (or [C, L]) → [N, outC, outL] (or [outC, outL]).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 || x.rank == 3, "conv1d takes [N, C, L] or [C, L], got \(x.shape)")
        var shape = x.shape
        shape.insert(1, at: shape.count - 1)
        let y = conv(x.reshaped(shape))
        var outShape = y.shape
        outShape.remove(at: outShape.count - 2)
        return y.reshaped(outShape)
    }

    /// This convolution followed by `norm`, folded into one.
    public func folding(_ norm: BatchNorm) -> Conv1d {
        Conv1d(folded: conv.folding(norm))
    }

    private init(folded: Conv2d) { conv = folded }
}

/// Everything about one image's convolution that does not change between images, and the
/// loops that run it on raw buffers.
struct ConvolutionPlan {
    let channels, height, width: Int
    let outputChannels, outputHeight, outputWidth: Int
    let kernelHeight, kernelWidth: Int
    let strideHeight, strideWidth: Int
    let dilationHeight, dilationWidth: Int
    let padTop, padLeft: Int
    let groups: Int

    var inputCount: Int { channels * height * width }
    var outputCount: Int { outputChannels * outputHeight * outputWidth }
    var groupChannels: Int { channels / groups }
    var groupOutputChannels: Int { outputChannels / groups }
    var patchSize: Int { groupChannels * kernelHeight * kernelWidth }
    var outputPixels: Int { outputHeight * outputWidth }

    /// A 1×1, stride-1, unpadded convolution reads its input as the GEMM operand directly.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1
            && padTop == 0 && padLeft == 0 && outputHeight == height && outputWidth == width
    }

    /// One input channel per group: a GEMM would have K = kh·kw, so a direct loop wins.
    var isDepthwise: Bool { groupChannels == 1 }

    var needsColumns: Bool { !isPointwise && !isDepthwise }
    var columnBufferCount: Int { patchSize * outputPixels }

    /// Floats of scratch one image needs: im2col's columns, or one padded channel for the
    /// depthwise kernel.
    var scratchCount: Int {
        guard outputPixels > 0 else { return 0 }
        if isDepthwise {
            return nk_depthwise_scratch_count(outputHeight, outputWidth, kernelHeight, kernelWidth,
                                              strideHeight, strideWidth, dilationHeight, dilationWidth)
        }
        return needsColumns ? columnBufferCount : 0
    }

    func run(
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: [Float]?,
        output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?
    ) {
        guard outputPixels > 0 else { return }
        if isDepthwise {
            // Writes every output value, bias included.
            func depthwise(_ biases: UnsafePointer<Float>?) {
                nk_depthwise_conv2d(input, channels, height, width, weight, biases, groupOutputChannels,
                                    kernelHeight, kernelWidth, strideHeight, strideWidth, dilationHeight, dilationWidth,
                                    padTop, padLeft, output, outputHeight, outputWidth, scratch!, 0, 0, nil)
            }
            if let bias { bias.withUnsafeBufferPointer { depthwise($0.baseAddress) } } else { depthwise(nil) }
            return
        }
        if let bias {
            for channel in 0..<outputChannels {
                (output + channel * outputPixels).initialize(repeating: bias[channel], count: outputPixels)
            }
        } else {
            output.initialize(repeating: 0, count: outputCount)
        }
        let columns = scratch
        for group in 0..<groups {
            let groupInput = input + group * groupChannels * height * width
            let operand: UnsafePointer<Float>
            if isPointwise {
                operand = groupInput
            } else {
                im2col(groupInput, into: columns!)
                operand = UnsafePointer(columns!)
            }
            BLAS.gemm(
                m: groupOutputChannels, n: outputPixels, k: patchSize,
                a: weight + group * groupOutputChannels * patchSize, lda: patchSize,
                b: operand, ldb: outputPixels,
                beta: 1,
                c: output + group * groupOutputChannels * outputPixels, ldc: outputPixels)
        }
    }

    /// Lays out every receptive field as a column: row (c, i, j), column (oy, ox).
    func im2col(_ input: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>) {
        var row = 0
        for channel in 0..<groupChannels {
            let plane = input + channel * height * width
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let destination = columns + row * outputPixels
                    for oy in 0..<outputHeight {
                        let iy = oy * strideHeight - padTop + i * dilationHeight
                        let line = destination + oy * outputWidth
                        if iy < 0 || iy >= height {
                            line.initialize(repeating: 0, count: outputWidth)
                            continue
                        }
                        let source = plane + iy * width
                        let x0 = j * dilationWidth - padLeft
                        if strideWidth == 1 {
                            // Contiguous run: zeros at the edges, one copy in between.
                            let first = max(0, -x0)
                            let last = min(outputWidth, width - x0)
                            if last <= first {
                                line.initialize(repeating: 0, count: outputWidth)
                                continue
                            }
                            line.initialize(repeating: 0, count: first)
                            (line + first).initialize(from: source + x0 + first, count: last - first)
                            (line + last).initialize(repeating: 0, count: outputWidth - last)
                        } else {
                            for ox in 0..<outputWidth {
                                let ix = ox * strideWidth + x0
                                line[ox] = (ix >= 0 && ix < width) ? source[ix] : 0
                            }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Each output channel reads one input channel (group = channel / multiplier), accumulated
    /// onto `output`: the direct loop `nk_depthwise_conv2d` replaced, kept as its reference.
    func runDepthwiseReference(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let multiplier = groupOutputChannels
        let taps = kernelHeight * kernelWidth
        for outputChannel in 0..<outputChannels {
            let plane = input + (outputChannel / multiplier) * height * width
            let kernel = weight + outputChannel * taps
            let destination = output + outputChannel * outputPixels
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let tap = kernel[i * kernelWidth + j]
                    let x0 = j * dilationWidth - padLeft
                    for oy in 0..<outputHeight {
                        let iy = oy * strideHeight - padTop + i * dilationHeight
                        guard iy >= 0 && iy < height else { continue }
                        let source = plane + iy * width
                        let line = destination + oy * outputWidth
                        // Only the output columns whose input column is inside the image.
                        let first = x0 >= 0 ? 0 : (-x0 + strideWidth - 1) / strideWidth
                        let lastExclusive = width - x0 > 0 ? min(outputWidth, (width - x0 - 1) / strideWidth + 1) : 0
                        if first >= lastExclusive { continue }
                        for ox in first..<lastExclusive {
                            line[ox] += tap * source[ox * strideWidth + x0]
                        }
                    }
                }
            }
        }
    }
}
