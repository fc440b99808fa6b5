import Foundation
import NeuralKit
import Testing

@Suite("Activations and softmax")
struct ActivationTests {
    @Test("ReLU, tanh, GELU (erf form)")
    func elementwise() {
        var random = SeededRandom(seed: 1)
        // Wide enough to reach GELU's and tanh's saturated tails.
        let x = random.tensor([3, 1001], in: -8...8)
        let values = x.doubles
        expectClose(x.relu(), values.map { max($0, 0) }, shape: x.shape, .exact, "relu")
        expectClose(x.tanh(), values.map { Foundation.tanh($0) }, shape: x.shape, .transcendental, "tanh")
        expectClose(x.gelu(), values.map(Reference.gelu), shape: x.shape, .transcendental, "gelu")
    }

    @Test("SiLU and sigmoid against float64, over both saturated tails")
    func siluSigmoid() {
        var random = SeededRandom(seed: 3)
        let x = random.tensor([2, 1001], in: -100...100)
        let y = random.tensor([1, 2001], in: -8...8)
        for (input, range) in [(x, "±100"), (y, "±8")] {
            let values = input.doubles
            expectClose(input.silu(), values.map { $0 / (1 + Foundation.exp(-$0)) }, shape: input.shape, .transcendental, "silu \(range)")
            expectClose(input.sigmoid(), values.map { 1 / (1 + Foundation.exp(-$0)) }, shape: input.shape, .transcendental, "sigmoid \(range)")
        }
    }

    @Test("GELU at known points (PyTorch: gelu(1) = 0.8413447, gelu(-1) = -0.1586553)")
    func geluKnownValues() {
        let y = Tensor(shape: [3], scalars: [1, -1, 0]).gelu().scalars
        #expect(abs(y[0] - 0.841_344_7) < 1e-6)
        #expect(abs(y[1] + 0.158_655_3) < 1e-6)
        #expect(y[2] == 0)
    }

    @Test("PReLU with one slope and with one per channel")
    func prelu() {
        var random = SeededRandom(seed: 2)
        let x = random.tensor([2, 3, 4, 5])
        let single = Tensor(shape: [1], scalars: [0.25])
        expectClose(PReLU(slopes: single)(x), x.doubles.map { $0 >= 0 ? $0 : 0.25 * $0 }, shape: x.shape, .elementwise, "single")
        let slopes = Tensor(shape: [3], scalars: [0.1, -0.5, 2])
        let expected = x.doubles.enumerated().map { i, v in v >= 0 ? v : Double(slopes.scalars[(i / 20) % 3]) * v }
        expectClose(PReLU(slopes: slopes)(x), expected, shape: x.shape, .elementwise, "per channel")
    }

    @Test("softmax over the last dimension", arguments: [(1, 1), (4, 7), (3, 1000)])
    func softmax(shape: (Int, Int)) {
        var random = SeededRandom(seed: UInt64(shape.1))
        let x = random.tensor([shape.0, shape.1], in: -20...20)
        expectClose(x.softmax(), Reference.softmax(x.doubles, width: shape.1), shape: [shape.0, shape.1], .transcendental)
    }

    @Test("softmax of huge logits does not overflow, and a fully masked row gives zeros")
    func softmaxExtremes() {
        let y = Tensor(shape: [2, 3], scalars: [1e30, 1e30, -1e30, -.infinity, -.infinity, -.infinity]).softmax().scalars
        #expect(y == [0.5, 0.5, 0, 0, 0, 0])
    }
}
