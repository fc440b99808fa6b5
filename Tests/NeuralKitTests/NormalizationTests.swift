import NeuralKit
import Testing

@Suite("Layer, group and batch norm against plain loops")
struct NormalizationTests {
    @Test("layer norm over the last dimension", arguments: [(1, 1), (1, 7), (5, 3), (13, 1024), (3, 97)])
    func layerNorm(shape: (Int, Int)) {
        let (rows, features) = shape
        var random = SeededRandom(seed: UInt64(rows * 1000 + features))
        // An offset and scale far from 0/1, as real activations have.
        let x = random.tensor([rows, features], in: 3...9)
        let weight = random.tensor([features]), bias = random.tensor([features])
        let expected = Reference.normalize(x.doubles, runs: rows, size: features, epsilon: 1e-5) { _, i, v in
            v * Double(weight.scalars[i]) + Double(bias.scalars[i])
        }
        expectClose(LayerNorm(weight: weight, bias: bias)(x), expected, shape: [rows, features], .normalization, "\(shape)")
    }

    @Test("group norm", arguments: [(1, 1, 1, 1), (2, 4, 2, 5), (1, 6, 3, 7), (1, 512, 512, 11), (3, 8, 1, 13)])
    func groupNorm(shape: (Int, Int, Int, Int)) {
        let (batch, channels, groups, length) = shape
        var random = SeededRandom(seed: UInt64(channels * 100 + groups + length))
        let x = random.tensor([batch, channels, length], in: -4...6)
        let weight = random.tensor([channels]), bias = random.tensor([channels])
        let groupChannels = channels / groups
        let expected = Reference.normalize(x.doubles, runs: batch * groups, size: groupChannels * length, epsilon: 1e-5) { run, i, v in
            let channel = (run % groups) * groupChannels + i / length
            return v * Double(weight.scalars[channel]) + Double(bias.scalars[channel])
        }
        let norm = GroupNorm(groups: groups, weight: weight, bias: bias)
        expectClose(norm(x), expected, shape: [batch, channels, length], .normalization, "\(shape)")
    }

    @Test("batch norm at inference")
    func batchNorm() {
        var random = SeededRandom(seed: 3)
        let x = random.tensor([2, 5, 3, 4])
        let weight = random.tensor([5]), bias = random.tensor([5])
        let mean = random.tensor([5]), variance = random.tensor([5], in: 0.05...3)
        let norm = BatchNorm(weight: weight, bias: bias, runningMean: mean, runningVariance: variance, epsilon: 1e-3)
        var expected = x.doubles
        for i in 0..<expected.count {
            let c = (i / 12) % 5
            expected[i] = (expected[i] - Double(mean.scalars[c])) / (Double(variance.scalars[c]) + 1e-3).squareRoot()
                * Double(weight.scalars[c]) + Double(bias.scalars[c])
        }
        expectClose(norm(x), expected, shape: x.shape, .elementwise)
    }
}
