@testable import NeuralKit
import Testing

/// The oneDNN backend of `Linear` against float64 loops and against OpenBLAS, F32 and BF16.
@Suite("Linear on oneDNN")
struct OneDNNLinearTests {
    /// (rows, inputs, outputs): a single element, primes, the live window (48 rows) and an
    /// utterance's rows at HuBERT's widths scaled down, and a wide layer.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (5, 3, 17), (23, 29, 31), (48, 256, 512), (200, 128, 64), (7, 1024, 96)]

    @Test("F32 equals float64 loops", arguments: shapes, [true, false])
    func f32(shape: (Int, Int, Int), withBias: Bool) {
        let (rows, inputs, outputs) = shape
        var random = SeededRandom(seed: UInt64(rows * 7 + inputs * 11 + outputs))
        let x = random.tensor([rows, inputs])
        let weight = random.tensor([outputs, inputs])
        let bias = withBias ? random.tensor([outputs]) : nil
        let layer = Linear(weight: weight, bias: bias, compute: .oneDNN)
        #expect(layer.compute == .oneDNN)
        #expect(layer.weightInputMajor == nil, "oneDNN's layer keeps only the reordered weight")
        let expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias?.doubles, rows: rows, inputs: inputs, outputs: outputs)
        expectClose(layer(x), expected, shape: [rows, outputs], .oneDNNAccumulation, "linear \(shape)")
    }

    @Test("accumulate adds the product to the output, on both backends", arguments: [Compute.openBLAS, .oneDNN])
    func accumulate(compute: Compute) {
        let (rows, inputs, outputs) = (48, 64, 40)
        var random = SeededRandom(seed: 77)
        let x = random.tensor([rows, inputs])
        let weight = random.tensor([outputs, inputs])
        let bias = random.tensor([outputs])
        let residual = random.tensor([rows, outputs])
        let layer = Linear(weight: weight, bias: bias, compute: compute)
        var output = residual
        x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                layer.apply(rows: rows, input: input.baseAddress!, output: out.baseAddress!, accumulate: true)
            }
        }
        var expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias.doubles, rows: rows, inputs: inputs, outputs: outputs)
        for (i, r) in residual.doubles.enumerated() { expected[i] += r }
        expectClose(output, expected, shape: [rows, outputs], .oneDNNAccumulation, "accumulate on \(compute)")
    }

    @Test("the same layer runs many row counts (one primitive each) and gives back its weight")
    func rowCountsAndWeight() {
        var random = SeededRandom(seed: 3)
        let weight = random.tensor([96, 80])
        let bias = random.tensor([96])
        let reference = Linear(weight: weight, bias: bias, compute: .openBLAS)
        let layer = Linear(weight: weight, bias: bias, compute: .oneDNN)
        for rows in [1, 48, 13, 200, 48, 1] {
            let x = random.tensor([rows, 80])
            expectClose(layer(x), reference(x).doubles, shape: [rows, 96], .oneDNNAccumulation, "\(rows) rows")
        }
        expectClose(layer.weight, weight.doubles, shape: [96, 80], .exact, "weight back from oneDNN's layout")
    }

    @Test("a layer keeps a bounded number of row counts' primitives and stays right past it")
    func boundedPrimitives() throws {
        var random = SeededRandom(seed: 11)
        let weight = random.tensor([24, 16])
        let reference = Linear(weight: weight, bias: nil, compute: .openBLAS)
        let layer = Linear(weight: weight, bias: nil, compute: .oneDNN)
        let matmul = try #require(layer.matmul)
        for rows in 1...(OneDNNMatmul.cachedRowCounts + 8) {
            let x = random.tensor([rows, 16])
            expectClose(layer(x), reference(x).doubles, shape: [rows, 24], .oneDNNAccumulation, "\(rows) rows")
        }
        #expect(matmul.cachedPrimitiveCount <= OneDNNMatmul.cachedRowCounts)
    }

    /// `OneDNNMatmul.WeightPlacement`: the weight sits 16 bytes past a cache line under
    /// `gemm:jit` (so its AVX2 kernel copies the weight's panels) and aligned under every other
    /// implementation; products of fewer rows than that kernel copies for run padded, and every
    /// row count, accumulating or not, equals float64 loops.
    @Test("the weight's placement follows oneDNN's implementation, and padded few-row products stay exact")
    func weightPlacement() throws {
        var random = SeededRandom(seed: 19)
        let (inputs, outputs) = (64, 48)
        let weight = random.tensor([outputs, inputs])
        let bias = random.tensor([outputs])
        let matmul = try OneDNNMatmul(inputMajorWeight: weight.transposed(), bias: bias, precision: .f32)
        let implementation = try matmul.implementation(rows: 48)
        #expect(matmul.weightOffset == (implementation.hasPrefix("gemm:jit") ? 16 : 0), "\(implementation)")
        let aligned = try OneDNNMatmul(inputMajorWeight: weight.transposed(), bias: bias, precision: .f32, weightPlacement: .aligned)
        #expect(aligned.weightOffset == 0)
        for rows in [1, 2, 12, 13, 18, 19, 20, 48] {
            for accumulate in [false, true] {
                let x = random.tensor([rows, inputs])
                let start = random.tensor([rows, outputs])
                var expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias.doubles, rows: rows, inputs: inputs, outputs: outputs)
                if accumulate { for (i, r) in start.doubles.enumerated() { expected[i] += r } }
                for layer in [matmul, aligned] {
                    var output = start
                    x.withUnsafeBufferPointer { input in
                        output.withUnsafeMutableBufferPointer { out in
                            layer.apply(rows: rows, input: input.baseAddress!, output: out.baseAddress!, accumulate: accumulate)
                        }
                    }
                    expectClose(output, expected, shape: [rows, outputs], .oneDNNAccumulation,
                                "\(rows) rows, accumulate \(accumulate), weight at +\(layer.weightOffset)")
                }
            }
        }
    }

    @Test("Compute.withSettings chooses the backend of layers created inside it")
    func taskSettings() {
        let weight = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(Linear(weight: weight, bias: nil).compute == Compute.default)
        let inside = Compute.withSettings(.oneDNN) { Linear(weight: weight, bias: nil) }
        #expect(inside.compute == .oneDNN)
    }

    @Test("BF16 needs oneDNN; its availability comes with a reason")
    func bf16Validation() {
        #expect(throws: ComputeError.bf16NeedsOneDNN) { try Compute(backend: .openBLAS, precision: .bf16).validate() }
        if let reason = ComputePrecision.bf16Unavailability {
            #expect(throws: ComputeError.bf16Unavailable(reason: reason)) { try Compute.oneDNNBF16.validate() }
        } else {
            #expect(throws: Never.self) { try Compute.oneDNNBF16.validate() }
        }
    }

    @Test("BF16 stays within its stated error of float64 loops",
          .enabled(if: ComputePrecision.bf16Available, "this CPU has neither AVX512_BF16 nor AMX: \(ComputePrecision.bf16Unavailability ?? "")"),
          arguments: [(48, 1024, 256), (200, 256, 1024), (5, 3, 17)])
    func bf16(shape: (Int, Int, Int)) {
        let (rows, inputs, outputs) = shape
        var random = SeededRandom(seed: UInt64(rows + inputs + outputs))
        let x = random.tensor([rows, inputs])
        let weight = random.tensor([outputs, inputs])
        let bias = random.tensor([outputs])
        let layer = Linear(weight: weight, bias: bias, compute: .oneDNNBF16)
        #expect(layer.compute == .oneDNNBF16)
        let expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias.doubles, rows: rows, inputs: inputs, outputs: outputs)
        let actual = layer(x).doubles
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        let cosine = Reference.cosine(actual, expected)
        print("BF16 linear \(shape): max error \(worst / scale) of scale, cosine to float64 \(cosine)")
        #expect(worst <= Tolerance.bf16OfScale * scale, "max error \(worst) of scale \(scale)")
        #expect(cosine >= Tolerance.bf16Cosine)
    }
}
