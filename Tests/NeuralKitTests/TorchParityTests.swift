import Foundation
import NeuralKit
import TestSupport
import Testing

/// The committed fixtures, made by `tools/make_neuralkit_fixtures.py`.
enum Fixtures {
    static func open(_ relativePath: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: TestPaths.fixture(relativePath))
    }
}

@Suite("Parity with PyTorch on committed fixtures")
struct TorchParityTests {
    @Test("files written by safetensors.torch read back in every dtype")
    func dtypes() throws {
        let file = try Fixtures.open("neuralkit/torch_dtypes.safetensors")
        #expect(file.metadata["format"] == "pt")
        #expect(file.entry("i64")?.dtype == .i64 && file.entry("i64")?.shape == [2, 3])
        #expect(file.entry("u8")?.dtype == .u8)
        #expect(try file.tensor("scalar").scalars == [2.5])
        #expect(try file.tensor("empty").shape == [0, 3])
        // Conversions must agree with torch's own `.float()` exactly.
        for dtype in ["f16", "bf16", "f64"] {
            let expected = try file.tensor("expect.\(dtype)")
            expectClose(try file.tensor(dtype), expected.doubles, shape: [3, 5], .exact, dtype)
        }
        #expect(try file.rawBytes("i64").count == 48)
    }

    let t: SafeTensorsFile

    init() throws { t = try Fixtures.open("neuralkit/torch_kernels.safetensors") }

    private func expectMatches(_ actual: Tensor, _ name: String, _ tolerance: Tolerance) throws {
        let expected = try t.tensor(name)
        expectClose(actual, expected.doubles, shape: expected.shape, tolerance, name)
    }

    @Test("convolutions: grouped/dilated/strided, depthwise with TF same, HuBERT's first conv1d")
    func convolutions() throws {
        let conv = Conv2d(weight: try t.tensor("conv.w"), bias: try t.tensor("conv.b"),
                          geometry: ConvolutionGeometry(stride: (2, 1), padding: .symmetric(1, 2), dilation: (1, 2), groups: 2))
        try expectMatches(conv(try t.tensor("conv.x")), "conv.y", .accumulation)
        let depthwise = Conv2d(weight: try t.tensor("dw.w"), bias: nil,
                               geometry: ConvolutionGeometry(stride: (2, 2), padding: .same, groups: 4))
        try expectMatches(depthwise(try t.tensor("dw.x")), "dw.y", .accumulation)
        let conv1d = Conv1d(weight: try t.tensor("conv1d.w"), bias: nil, stride: 5)
        try expectMatches(conv1d(try t.tensor("conv1d.x")), "conv1d.y", .accumulation)
    }

    @Test("layer, group and batch norm")
    func norms() throws {
        try expectMatches(LayerNorm(weight: try t.tensor("ln.w"), bias: try t.tensor("ln.b"))(try t.tensor("ln.x")), "ln.y", .normalization)
        try expectMatches(GroupNorm(groups: 8, weight: try t.tensor("gn.w"), bias: try t.tensor("gn.b"))(try t.tensor("gn.x")),
                          "gn.y", .normalization)
        let bn = BatchNorm(weight: try t.tensor("bn.w"), bias: try t.tensor("bn.b"),
                           runningMean: try t.tensor("bn.mean"), runningVariance: try t.tensor("bn.var"))
        try expectMatches(bn(try t.tensor("bn.x")), "bn.y", .elementwise)
    }

    @Test("GELU, tanh, PReLU, softmax")
    func activations() throws {
        let x = try t.tensor("act.x")
        try expectMatches(x.gelu(), "act.gelu", .twoApproximations)
        try expectMatches(x.tanh(), "act.tanh", .transcendental)
        try expectMatches(PReLU(slopes: try t.tensor("prelu.w"))(try t.tensor("prelu.x")), "prelu.y", .elementwise)
        try expectMatches(try t.tensor("softmax.x").softmax(), "softmax.y", .twoApproximations)
    }

    @Test("pooling in ceil mode, with and without counting padding")
    func pooling() throws {
        let x = try t.tensor("pool.x")
        try expectMatches(x.maxPool2d(PoolingWindow(kernel: (3, 3), stride: (2, 2), ceilMode: true)), "pool.max", .exact)
        let padded = PoolingWindow(kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true)
        try expectMatches(x.avgPool2d(padded), "pool.avg", .elementwise)
        try expectMatches(x.avgPool2d(padded, countIncludePad: false), "pool.avg_nopad", .elementwise)
    }

    @Test("self-attention equals torch.nn.MultiheadAttention")
    func attention() throws {
        let weight = try t.tensor("mha.in_proj_weight"), bias = try t.tensor("mha.in_proj_bias")
        func part(_ i: Int) -> Linear {
            Linear(weight: weight.rows((16 * i)..<(16 * (i + 1))), bias: bias.rows((16 * i)..<(16 * (i + 1))))
        }
        let attention = MultiHeadSelfAttention(
            query: part(0), key: part(1), value: part(2),
            output: Linear(weight: try t.tensor("mha.out_proj.weight"), bias: try t.tensor("mha.out_proj.bias")), heads: 4)
        try expectMatches(attention(try t.tensor("mha.x")), "mha.y", .accumulation)
    }
}
