@testable import NeuralKit
import Testing

/// The oneDNN backend of `Conv2d` against NeuralKit's own (im2col + OpenBLAS, the vectorised
/// depthwise kernel), which ConvolutionTests holds to float64 loops and PyTorch.
@Suite("Conv2d on oneDNN")
struct OneDNNConvolutionTests {
    /// (name, [N, C, H, W], out, kernel, geometry): pointwise, strided, TensorFlow "same",
    /// asymmetric padding, dilation, grouped, depthwise with and without a multiplier, 1-D-like.
    static let cases: [(String, [Int], Int, (Int, Int), ConvolutionGeometry)] = [
        ("pointwise", [2, 16, 9, 7], 24, (1, 1), ConvolutionGeometry()),
        ("3×3 stride 2 pad 1", [1, 3, 33, 31], 32, (3, 3), ConvolutionGeometry(stride: (2, 2), padding: .symmetric(1, 1))),
        ("5×5 same stride 2", [1, 40, 14, 15], 40, (5, 5), ConvolutionGeometry(stride: (2, 2), padding: .same, groups: 40)),
        ("3×3 same", [2, 8, 10, 10], 12, (3, 3), ConvolutionGeometry(padding: .same)),
        ("asymmetric", [1, 5, 8, 9], 7, (2, 3), ConvolutionGeometry(padding: .explicit(top: 0, bottom: 1, left: 2, right: 0))),
        ("dilated", [1, 4, 12, 12], 6, (3, 3), ConvolutionGeometry(padding: .symmetric(2, 2), dilation: (2, 2))),
        ("grouped", [1, 16, 8, 8], 8, (3, 3), ConvolutionGeometry(padding: .symmetric(1, 1), groups: 4)),
        ("depthwise 3×3", [2, 32, 16, 16], 32, (3, 3), ConvolutionGeometry(padding: .symmetric(1, 1), groups: 32)),
        ("depthwise ×2", [1, 8, 7, 7], 16, (3, 3), ConvolutionGeometry(padding: .symmetric(1, 1), groups: 8)),
        ("1-D, kernel 10 stride 5", [1, 1, 1, 400], 16, (1, 10), ConvolutionGeometry(stride: (1, 5))),
    ]

    @Test("F32 equals NeuralKit's convolution", arguments: cases)
    func f32(_ testCase: (String, [Int], Int, (Int, Int), ConvolutionGeometry)) throws {
        let (name, shape, out, kernel, geometry) = testCase
        var random = SeededRandom(seed: UInt64(name.utf8.count * 131 + out))
        let x = random.tensor(shape)
        let weight = random.tensor([out, shape[1] / geometry.groups, kernel.0, kernel.1])
        let bias = random.tensor([out])
        let reference = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .openBLAS)
        let conv = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .oneDNN)
        print("conv2d \(name) on oneDNN: \(try conv.implementation(batch: shape[0], height: shape[2], width: shape[3]))")
        let expected = reference(x)
        expectClose(conv(x), expected.doubles, shape: expected.shape, .oneDNNAccumulation, name)
        var activated = expected
        activated.applySiLU()
        expectClose(conv(x, activatingOutput: true), activated.doubles, shape: expected.shape, .oneDNNAccumulation, "\(name) + SiLU")
    }

    /// HuBERT's positional convolution (grouped, kernel 128, "same") sees one input length per
    /// window and utterance for as long as the daemon runs: one weight layout serves them all,
    /// and the primitives kept stay bounded, each length still computed right.
    @Test("a 1-D convolution over many lengths keeps one weight layout and a bounded set of primitives")
    func manyLengths() throws {
        var random = SeededRandom(seed: 17)
        let weight = random.tensor([32, 4, 1, 16]), bias = random.tensor([32])
        let geometry = ConvolutionGeometry(padding: .explicit(top: 0, bottom: 0, left: 8, right: 8), groups: 8)
        let reference = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .openBLAS)
        let conv = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .oneDNN)
        let oneDNN = try #require(conv.oneDNN)
        let lengths = Array(20..<(20 + OneDNNConvolution.cachedShapes + 8))
        for length in lengths {
            let x = random.tensor([1, 32, 1, length])
            let expected = reference(x)
            expectClose(conv(x), expected.doubles, shape: expected.shape, .oneDNNAccumulation, "length \(length)")
        }
        let counts = oneDNN.cachedCounts
        #expect(counts.primitives <= OneDNNConvolution.cachedShapes, "\(counts.primitives) primitives after \(lengths.count) lengths")
        #expect(counts.layouts == 1, "\(counts.layouts) weight layouts for \(lengths.count) lengths")
    }

    /// HuBERT's positional convolution (33 MiB in F32) is laid out at load and held once:
    /// every length, including one whose primitive wants another layout (made from the first,
    /// not from a plain copy), gives what the same convolution keeping its F32 weight gives,
    /// and `weight` still reads back (rounded to BF16 when held so).
    @Test("a convolution laid out at load holds its weight once and computes as one that keeps it",
          arguments: [ComputePrecision.f32, .bf16])
    func laidOutAtLoad(precision: ComputePrecision) throws {
        guard precision == .f32 || ComputePrecision.bf16Available else { return }
        let compute = Compute(backend: .oneDNN, precision: precision)
        var random = SeededRandom(seed: 23)
        let weight = random.tensor([64, 8, 32]), bias = random.tensor([64])
        let padding = Padding.sides(left: 16, right: 16)
        let keeping = Conv1d(weight: weight, bias: bias, padding: padding, groups: 8, compute: compute)
        let laidOut = Conv1d(weight: weight, bias: bias, padding: padding, groups: 8, compute: compute, layingOutFor: 40)
        #expect(keeping.holdsPlainWeight)
        #expect(!laidOut.holdsPlainWeight)
        let oneDNN = try #require(laidOut.conv.oneDNN)
        for length in [3, 40, 333, 1200] {
            let x = random.tensor([1, 64, length])
            #expect(laidOut(x).scalars == keeping(x).scalars, "length \(length), \(precision)")
        }
        print("conv1d laid out at load, \(precision): \(oneDNN.cachedCounts.layouts) weight layouts for 4 lengths")
        let readBack = laidOut.weight
        #expect(readBack.shape == weight.shape)
        // BF16 keeps 8 bits of mantissa: each weight within 2⁻⁸ of itself, relatively.
        let allowed: Float = precision == .f32 ? 0 : 1.0 / 256
        let worst = zip(readBack.scalars, weight.scalars).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
        #expect(worst <= allowed, "weight read back within \(worst) of itself")
    }

    @Test("the fused depthwise pass and channel scaling equal NeuralKit's")
    func fusedPasses() {
        var random = SeededRandom(seed: 21)
        let x = random.tensor([2, 24, 12, 12])
        let geometry = ConvolutionGeometry(stride: (2, 2), padding: .same, groups: 24)
        let weight = random.tensor([24, 1, 5, 5]), bias = random.tensor([24])
        let reference = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .openBLAS)
        let conv = Conv2d(weight: weight, bias: bias, geometry: geometry, compute: .oneDNN)
        #expect(conv.compute == .oneDNN)
        let (expected, expectedMeans) = reference.depthwise(x, activatingInput: true, activatingOutput: true)
        let (actual, means) = conv.depthwise(x, activatingInput: true, activatingOutput: true)
        expectClose(actual, expected.doubles, shape: expected.shape, .oneDNNAccumulation, "depthwise")
        expectClose(means, expectedMeans.doubles, shape: expectedMeans.shape, .oneDNNAccumulation, "means")

        let project = random.tensor([16, 24, 1, 1]), projectBias = random.tensor([16])
        let scales = random.tensor([2, 24], in: 0...1)
        let referenceProject = Conv2d(weight: project, bias: projectBias, compute: .openBLAS)
        let projected = referenceProject.scalingInputChannels(expected, by: scales)
        expectClose(Conv2d(weight: project, bias: projectBias, compute: .oneDNN).scalingInputChannels(expected, by: scales),
                    projected.doubles, shape: projected.shape, .oneDNNAccumulation, "scaled projection")
    }

    @Test("BF16 convolutions stay within their stated error",
          .enabled(if: ComputePrecision.bf16Available, "this CPU has neither AVX512_BF16 nor AMX: \(ComputePrecision.bf16Unavailability ?? "")"),
          arguments: [0, 1, 7])
    func bf16(index: Int) {
        let (name, shape, out, kernel, geometry) = Self.cases[index]
        var random = SeededRandom(seed: UInt64(index + 5))
        let x = random.tensor(shape)
        let weight = random.tensor([out, shape[1] / geometry.groups, kernel.0, kernel.1])
        let expected = Conv2d(weight: weight, bias: nil, geometry: geometry, compute: .openBLAS)(x).doubles
        let actual = Conv2d(weight: weight, bias: nil, geometry: geometry, compute: .oneDNNBF16)(x).doubles
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        let cosine = Reference.cosine(actual, expected)
        print("BF16 conv2d \(name): max error \(worst / scale) of scale, cosine to F32 \(cosine)")
        #expect(worst <= Tolerance.bf16OfScale * scale)
        #expect(cosine >= Tolerance.bf16Cosine)
    }
}
