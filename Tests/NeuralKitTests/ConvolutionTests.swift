import NeuralKit
import Testing

/// One convolution case: input [n, c, h, w], weight [o, c/groups, kh, kw].
struct ConvolutionCase: CustomTestStringConvertible, Sendable {
    var n = 1, c: Int, h: Int, w: Int
    var o: Int, kh: Int, kw: Int
    var stride = (1, 1)
    var padding = Padding.valid
    var dilation = (1, 1)
    var groups = 1
    var bias = true
    var name: String

    var testDescription: String { name }
}

@Suite("Convolution against a direct 7-loop reference")
struct ConvolutionTests {
    static let cases: [ConvolutionCase] = [
        .init(c: 1, h: 1, w: 1, o: 1, kh: 1, kw: 1, name: "1x1 image, 1x1 kernel"),
        .init(c: 3, h: 7, w: 5, o: 4, kh: 1, kw: 1, name: "pointwise (GEMM without im2col)"),
        .init(n: 2, c: 3, h: 13, w: 11, o: 5, kh: 3, kw: 3, name: "3x3 valid, batch 2"),
        .init(c: 3, h: 12, w: 12, o: 8, kh: 3, kw: 3, padding: .symmetric(1, 1), name: "3x3 pad 1 (ResNet)"),
        .init(c: 2, h: 17, w: 19, o: 3, kh: 3, kw: 5, stride: (2, 3), name: "stride 2x3, odd sizes"),
        .init(c: 2, h: 11, w: 11, o: 3, kh: 2, kw: 2, stride: (5, 5), name: "stride > kernel"),
        .init(c: 3, h: 10, w: 9, o: 4, kh: 3, kw: 3, stride: (2, 2), padding: .same, name: "TF same, stride 2 (asymmetric)"),
        .init(c: 2, h: 7, w: 8, o: 2, kh: 4, kw: 4, padding: .same, name: "TF same, even kernel"),
        .init(c: 2, h: 13, w: 13, o: 3, kh: 3, kw: 3, padding: .symmetric(2, 2), dilation: (2, 2), name: "dilation 2"),
        .init(c: 4, h: 9, w: 9, o: 6, kh: 3, kw: 3, padding: .symmetric(1, 1), groups: 2, name: "2 groups"),
        .init(c: 5, h: 9, w: 7, o: 5, kh: 3, kw: 3, padding: .symmetric(1, 1), groups: 5, name: "depthwise"),
        .init(c: 3, h: 8, w: 8, o: 6, kh: 3, kw: 3, stride: (2, 2), padding: .same, groups: 3, name: "depthwise x2, TF same stride 2"),
        .init(c: 4, h: 6, w: 10, o: 4, kh: 3, kw: 3, stride: (3, 3), padding: .explicit(top: 0, bottom: 2, left: 1, right: 0),
              dilation: (1, 2), groups: 4, bias: false, name: "depthwise, asymmetric pad, dilation, stride 3"),
        .init(c: 7, h: 5, w: 3, o: 11, kh: 5, kw: 3, padding: .explicit(top: 1, bottom: 3, left: 0, right: 2), bias: false,
              name: "asymmetric explicit padding, no bias"),
    ]

    @Test("conv2d", arguments: cases)
    func conv2d(_ test: ConvolutionCase) {
        var random = SeededRandom(seed: UInt64(test.name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let x = random.tensor([test.n, test.c, test.h, test.w])
        let weight = random.tensor([test.o, test.c / test.groups, test.kh, test.kw])
        let bias = test.bias ? random.tensor([test.o]) : nil
        let conv = Conv2d(weight: weight, bias: bias,
                          geometry: ConvolutionGeometry(stride: (test.stride.0, test.stride.1), padding: test.padding,
                                                        dilation: (test.dilation.0, test.dilation.1), groups: test.groups))
        let pad = Self.explicitPadding(test)
        let expected = Reference.conv2d(
            x.doubles, n: test.n, c: test.c, h: test.h, w: test.w, weight: weight.doubles, outChannels: test.o,
            kh: test.kh, kw: test.kw, bias: bias?.doubles, stride: test.stride, pad: pad, dilation: test.dilation,
            groups: test.groups)
        expectClose(conv(x), expected.values, shape: [test.n, test.o, expected.oh, expected.ow], .accumulation, test.name)
    }

    static let depthwiseCases: [ConvolutionCase] = [
        .init(c: 5, h: 9, w: 7, o: 5, kh: 3, kw: 3, padding: .symmetric(1, 1), groups: 5, name: "3x3 pad 1, narrower than a SIMD run"),
        .init(c: 4, h: 37, w: 41, o: 4, kh: 3, kw: 3, stride: (2, 2), padding: .same, groups: 4, name: "3x3 TF same stride 2, 21 columns: a run and a tail"),
        .init(c: 3, h: 40, w: 40, o: 3, kh: 5, kw: 5, padding: .symmetric(2, 2), groups: 3, name: "5x5 pad 2 (EfficientNet), 40 columns"),
        .init(c: 3, h: 33, w: 35, o: 3, kh: 5, kw: 5, stride: (2, 2), padding: .symmetric(2, 2), groups: 3, bias: false, name: "5x5 stride 2 pad 2, no bias"),
        .init(c: 2, h: 20, w: 50, o: 6, kh: 3, kw: 3, stride: (1, 3), padding: .explicit(top: 2, bottom: 0, left: 1, right: 3),
              dilation: (2, 2), groups: 2, name: "multiplier 3, stride 3 along width, dilation 2, asymmetric padding"),
        .init(n: 2, c: 3, h: 16, w: 32, o: 3, kh: 1, kw: 1, groups: 3, name: "1x1 depthwise (a per-channel scale), batch 2"),
        .init(c: 2, h: 6, w: 6, o: 2, kh: 7, kw: 7, padding: .symmetric(3, 3), groups: 2, name: "kernel larger than the image"),
    ]

    @Test("the vectorised depthwise kernel equals the direct loop it replaced", arguments: depthwiseCases)
    func depthwiseKernel(_ test: ConvolutionCase) {
        var random = SeededRandom(seed: UInt64(test.name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }))
        let x = random.tensor([test.n, test.c, test.h, test.w])
        let weight = random.tensor([test.o, 1, test.kh, test.kw])
        let bias = test.bias ? random.tensor([test.o]) : nil
        let conv = Conv2d(weight: weight, bias: bias,
                          geometry: ConvolutionGeometry(stride: (test.stride.0, test.stride.1), padding: test.padding,
                                                        dilation: (test.dilation.0, test.dilation.1), groups: test.groups))
        let reference = conv.depthwiseReference(x)
        expectClose(conv(x), reference.doubles, shape: reference.shape, .accumulation, test.name)
        let pad = Self.explicitPadding(test)
        let expected = Reference.conv2d(
            x.doubles, n: test.n, c: test.c, h: test.h, w: test.w, weight: weight.doubles, outChannels: test.o,
            kh: test.kh, kw: test.kw, bias: bias?.doubles, stride: test.stride, pad: pad, dilation: test.dilation,
            groups: test.groups)
        expectClose(conv(x), expected.values, shape: [test.n, test.o, expected.oh, expected.ow], .accumulation, "\(test.name), float64")
    }

    @Test("the fused depthwise pass: SiLU on the input, SiLU on the output and the channel means, as the unfused layers give them",
          arguments: depthwiseCases)
    func fusedDepthwise(_ test: ConvolutionCase) {
        var random = SeededRandom(seed: UInt64(test.name.utf8.reduce(11) { $0 &* 31 &+ UInt64($1) }))
        let x = random.tensor([test.n, test.c, test.h, test.w], in: -4...4)
        let conv = Conv2d(weight: random.tensor([test.o, 1, test.kh, test.kw]), bias: test.bias ? random.tensor([test.o]) : nil,
                          geometry: ConvolutionGeometry(stride: (test.stride.0, test.stride.1), padding: test.padding,
                                                        dilation: (test.dilation.0, test.dilation.1), groups: test.groups))
        for (input, output) in [(true, true), (false, true), (true, false), (false, false)] {
            let (y, means) = conv.depthwise(x, activatingInput: input, activatingOutput: output)
            var expected = conv(input ? x.silu() : x)
            if output { expected = expected.silu() }
            expectClose(y, expected.doubles, shape: expected.shape, .accumulation, "\(test.name), SiLU in \(input) out \(output)")
            expectClose(means, expected.globalAvgPool2d().doubles, shape: [test.n, test.o], .accumulation, "\(test.name) means")
        }
    }

    @Test("scaling a convolution's input channels through its weight equals scaling the activations")
    func inputChannelScaling() {
        var random = SeededRandom(seed: 5)
        let x = random.tensor([2, 6, 5, 7])
        let scales = random.tensor([2, 6], in: 0...1)
        for conv in [Conv2d(weight: random.tensor([4, 6, 1, 1]), bias: random.tensor([4])),
                     Conv2d(weight: random.tensor([3, 6, 3, 3]), bias: nil, geometry: ConvolutionGeometry(stride: (2, 2), padding: .same))] {
            var scaled = x
            scaled.scaleChannels(by: scales)
            let expected = conv(scaled)
            expectClose(conv.scalingInputChannels(x, by: scales), expected.doubles, shape: expected.shape, .accumulation, "kernel \(conv.kernel)")
        }
    }

    /// TensorFlow's "same" written out independently of the kernel's own resolution.
    static func explicitPadding(_ test: ConvolutionCase) -> (top: Int, bottom: Int, left: Int, right: Int) {
        switch test.padding {
        case .explicit(let top, let bottom, let left, let right): return (top, bottom, left, right)
        case .same:
            func split(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                let out = Int((Double(size) / Double(s)).rounded(.up))
                let total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                return (total / 2, total - total / 2)
            }
            let (t, b) = split(test.h, test.kh, test.stride.0, test.dilation.0)
            let (l, r) = split(test.w, test.kw, test.stride.1, test.dilation.1)
            return (t, b, l, r)
        }
    }

    @Test("TF same gives ceil(input / stride) outputs")
    func sameOutputSize() {
        for size in 1...12 {
            for stride in 1...4 {
                let conv = Conv2d(weight: Tensor(shape: [1, 1, 3, 3], repeating: 1), bias: nil,
                                  geometry: ConvolutionGeometry(stride: (stride, stride), padding: .same))
                let out = conv.outputSize(height: size, width: size)
                #expect(out.height == (size + stride - 1) / stride && out.width == out.height, "size \(size) stride \(stride)")
            }
        }
    }

    @Test("conv1d", arguments: [
        (1, 1, 1, 1, 1, 0), (3, 10, 4, 3, 1, 0), (1, 16000, 8, 10, 5, 0), (5, 29, 7, 3, 2, 1), (4, 31, 4, 5, 1, 2),
    ])
    func conv1d(shape: (Int, Int, Int, Int, Int, Int)) {
        let (channels, length, outChannels, kernel, stride, padding) = shape
        var random = SeededRandom(seed: UInt64(length * 13 + kernel))
        let x = random.tensor([1, channels, length])
        let weight = random.tensor([outChannels, channels, kernel])
        let bias = random.tensor([outChannels])
        let conv = Conv1d(weight: weight, bias: bias, stride: stride, padding: .sides(left: padding, right: padding))
        let expected = Reference.conv2d(
            x.doubles, n: 1, c: channels, h: 1, w: length, weight: weight.doubles, outChannels: outChannels,
            kh: 1, kw: kernel, bias: bias.doubles, stride: (1, stride), pad: (0, 0, padding, padding), dilation: (1, 1), groups: 1)
        expectClose(conv(x), expected.values, shape: [1, outChannels, expected.ow], .accumulation, "conv1d \(shape)")
        #expect(conv.outputLength(length) == expected.ow)
    }

    @Test("grouped conv1d (HuBERT's positional convolution shape)")
    func groupedConv1d() {
        var random = SeededRandom(seed: 77)
        let (channels, length, kernel, groups) = (16, 23, 8, 4)
        let x = random.tensor([channels, length])
        let weight = random.tensor([channels, channels / groups, kernel])
        let bias = random.tensor([channels])
        let conv = Conv1d(weight: weight, bias: bias, padding: .sides(left: kernel / 2, right: kernel / 2), groups: groups)
        let expected = Reference.conv2d(
            x.doubles, n: 1, c: channels, h: 1, w: length, weight: weight.doubles, outChannels: channels, kh: 1, kw: kernel,
            bias: bias.doubles, stride: (1, 1), pad: (0, 0, kernel / 2, kernel / 2), dilation: (1, 1), groups: groups)
        expectClose(conv(x), expected.values, shape: [channels, expected.ow], .accumulation)
    }

    @Test("batch norm folds into the convolution before it")
    func foldBatchNorm() {
        var random = SeededRandom(seed: 31)
        let x = random.tensor([2, 3, 9, 8])
        let conv = Conv2d(weight: random.tensor([4, 3, 3, 3]), bias: random.tensor([4]),
                          geometry: ConvolutionGeometry(padding: .symmetric(1, 1)))
        let norm = BatchNorm(weight: random.tensor([4]), bias: random.tensor([4]),
                             runningMean: random.tensor([4]), runningVariance: random.tensor([4], in: 0.1...2))
        let separate = norm(conv(x))
        let folded = conv.folding(norm)(x)
        expectClose(folded, separate.doubles, shape: separate.shape, .accumulation)

        let conv1 = Conv1d(weight: random.tensor([4, 3, 5]), bias: nil, stride: 2)
        let x1 = random.tensor([1, 3, 40])
        let separate1 = norm(conv1(x1))
        expectClose(conv1.folding(norm)(x1), separate1.doubles, shape: separate1.shape, .accumulation)
    }
}
