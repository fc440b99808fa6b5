@testable import NeuralKit
import Testing

@Suite("Multi-head self-attention")
struct AttentionTests {
    @Test("against the per-head plain loop", arguments: [(1, 4, 1), (7, 16, 4), (33, 24, 3), (50, 64, 16)])
    func attention(shape: (Int, Int, Int)) {
        let (length, width, heads) = shape
        var random = SeededRandom(seed: UInt64(length * 100 + width + heads))
        let x = random.tensor([length, width])
        func projection() -> (Linear, ([Double], [Double])) {
            let w = random.tensor([width, width], in: -0.5...0.5), b = random.tensor([width])
            return (Linear(weight: w, bias: b), (w.doubles, b.doubles))
        }
        let (q, k, v, o) = (projection(), projection(), projection(), projection())
        let attention = MultiHeadSelfAttention(query: q.0, key: k.0, value: v.0, output: o.0, heads: heads)
        let expected = Reference.attention(x.doubles, length: length, width: width, heads: heads, q: q.1, k: k.1, v: v.1, o: o.1)
        expectClose(attention(x), expected, shape: [length, width], .accumulation, "attention \(shape)")

        // A batch of two sequences is two independent sequences.
        let pair = Tensor(shape: [2, length, width], scalars: x.scalars + x.scalars.reversed())
        let second = Reference.attention(Array(x.doubles.reversed()), length: length, width: width, heads: heads,
                                         q: q.1, k: k.1, v: v.1, o: o.1)
        expectClose(attention(pair), expected + second, shape: [2, length, width], .accumulation, "batched \(shape)")
    }

    /// On oneDNN a long sequence's heads go through the products a group at a time, so that a
    /// group's scores stay within `OneDNNAttention.scoreBudget` (every head at once at 500
    /// frames would be 16 × 1 MB for HuBERT-large): two heads a group at 500, one at 1100
    /// and 2800 (whose projections, over 1 MiB, are a mapped pass buffer).
    @Test("on oneDNN, heads in groups for long sequences against the per-head plain loop", arguments: [(500, 2), (1100, 1), (40, 4), (2800, 1)])
    func headGroups(length: Int, group: Int) throws {
        let (width, heads) = (32, 4)
        var random = SeededRandom(seed: UInt64(length))
        let x = random.tensor([length, width])
        func projection() -> (Linear, ([Double], [Double])) {
            let w = random.tensor([width, width], in: -0.5...0.5), b = random.tensor([width])
            return (Linear(weight: w, bias: b, compute: .oneDNN), (w.doubles, b.doubles))
        }
        let (q, k, v, o) = (projection(), projection(), projection(), projection())
        let fused = Linear(weight: Tensor(shape: [3 * width, width], scalars: q.0.weight.scalars + k.0.weight.scalars + v.0.weight.scalars),
                           bias: Tensor(shape: [3 * width], scalars: q.0.bias!.scalars + k.0.bias!.scalars + v.0.bias!.scalars),
                           compute: .oneDNN)
        let attention = MultiHeadSelfAttention(fusedInputProjection: fused, output: o.0, heads: heads, compute: .oneDNN)
        let products = try #require(attention.products)
        #expect(products.headsPerGroup(length: length) == group)
        let expected = Reference.attention(x.doubles, length: length, width: width, heads: heads, q: q.1, k: k.1, v: v.1, o: o.1)
        expectClose(attention(x), expected, shape: [length, width], .oneDNNAccumulation, "attention of \(length) in groups of \(group)")
    }

    @Test("scratch buffers are reusable across lengths")
    func scratchReuse() {
        var random = SeededRandom(seed: 4)
        func projection() -> Linear { Linear(weight: random.tensor([8, 8]), bias: random.tensor([8])) }
        let attention = MultiHeadSelfAttention(query: projection(), key: projection(), value: projection(), output: projection(), heads: 2)
        var scratch = AttentionScratch(length: 20, width: 8)
        for length in [20, 3, 11] {
            let x = random.tensor([length, 8])
            var out = [Float](repeating: .nan, count: length * 8)
            x.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { attention.apply(length: length, input: input.baseAddress!, output: $0.baseAddress!, scratch: &scratch) }
            }
            #expect(out == attention(x).scalars, "length \(length)")
        }
    }

    @Test("padding rows neither attend nor change the sequence's rows")
    func paddingRows() {
        var random = SeededRandom(seed: 9)
        func projection() -> Linear { Linear(weight: random.tensor([16, 16], in: -0.5...0.5), bias: random.tensor([16])) }
        let attention = MultiHeadSelfAttention(query: projection(), key: projection(), value: projection(), output: projection(), heads: 4)
        let (length, rows) = (13, 16)
        let x = random.tensor([length, 16])
        // Padding rows of large values: were they attended to, the softmax would be theirs.
        let padded = x.scalars + [Float](repeating: 50, count: (rows - length) * 16)
        var scratch = AttentionScratch(length: rows, width: 16)
        var out = [Float](repeating: 0, count: rows * 16)
        padded.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer {
                attention.apply(length: length, rows: rows, input: input.baseAddress!, output: $0.baseAddress!, scratch: &scratch)
            }
        }
        let plain = attention(x).scalars
        let worst = zip(out.prefix(length * 16), plain).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5, "sequence rows differ by \(worst) with padding rows")
        #expect(out.allSatisfy { $0.isFinite })
    }
}
