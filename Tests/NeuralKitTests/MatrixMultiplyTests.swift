@testable import NeuralKit
import Testing

@Suite("GEMM and linear layers against plain loops")
struct MatrixMultiplyTests {
    /// (m, n, k): ones, primes, a row vector, a column, a tall and a wide shape.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 7, 13), (13, 1, 7), (7, 13, 1), (31, 37, 41), (2, 64, 257), (97, 3, 5), (128, 96, 64),
    ]

    @Test("matmul", arguments: shapes, [false, true])
    func matmul(shape: (Int, Int, Int), transposeOther: Bool) {
        let (m, n, k) = shape
        var random = SeededRandom(seed: UInt64(m * 10_000 + n * 100 + k))
        let a = random.tensor([m, k])
        let b = random.tensor(transposeOther ? [n, k] : [k, n])
        let expected = Reference.matmul(a.doubles, b.doubles, m: m, n: n, k: k, transposeB: transposeOther)
        expectClose(a.matmul(b, transposeOther: transposeOther), expected, shape: [m, n], .accumulation, "matmul \(shape)")
    }

    @Test("matmul reads transposed views correctly")
    func matmulOfView() {
        var random = SeededRandom(seed: 5)
        let a = random.tensor([11, 6])  // used as its transpose [6, 11]
        let b = random.tensor([11, 4])
        let at = a.transposed()
        #expect(!at.isContiguous)
        let expected = Reference.matmul(at.contiguous().doubles, b.doubles, m: 6, n: 4, k: 11)
        expectClose(at.matmul(b), expected, shape: [6, 4], .accumulation)
    }

    @Test("linear", arguments: [(1, 1, 1), (1, 17, 3), (5, 3, 17), (23, 29, 31), (64, 48, 128)], [true, false])
    func linear(shape: (Int, Int, Int), withBias: Bool) {
        let (rows, inputs, outputs) = shape
        var random = SeededRandom(seed: UInt64(rows * 7 + inputs * 11 + outputs))
        let x = random.tensor([rows, inputs])
        let weight = random.tensor([outputs, inputs])
        let bias = withBias ? random.tensor([outputs]) : nil
        let layer = Linear(weight: weight, bias: bias)
        let expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias?.doubles,
                                        rows: rows, inputs: inputs, outputs: outputs)
        expectClose(layer(x), expected, shape: [rows, outputs], .accumulation, "linear \(shape)")
    }

    @Test("linear keeps leading dimensions")
    func linearBatched() {
        var random = SeededRandom(seed: 9)
        let x = random.tensor([2, 3, 5])
        let weight = random.tensor([4, 5])
        let bias = random.tensor([4])
        let expected = Reference.linear(x.doubles, weight: weight.doubles, bias: bias.doubles, rows: 6, inputs: 5, outputs: 4)
        expectClose(Linear(weight: weight, bias: bias)(x), expected, shape: [2, 3, 4], .accumulation)
    }

    @Test("BLAS reports its kernel and takes a thread count")
    func blasConfiguration() {
        #expect(!BLAS.coreName.isEmpty && BLAS.coreName != "unknown")
        #expect(BLAS.configuration.contains("OpenBLAS"))
        let before = BLAS.threadCount
        BLAS.threadCount = 1
        #expect(BLAS.threadCount == 1)
        BLAS.threadCount = before
        #expect(BLAS.threadCount == before)
    }

    @Test("efficientRows: whole blocks of 8 rows per thread on block kernels, nothing else")
    func efficientRows() {
        // 2 threads: blocks of 16; up to 2 past a block stays.
        let twoThreads = [1, 2, 3, 12, 16, 17, 18, 19, 37, 48, 50, 51, 200].map { BLAS.efficientRows($0, threads: 2, blockKernels: true) }
        #expect(twoThreads == [1, 2, 16, 16, 16, 17, 18, 32, 48, 48, 50, 64, 208])
        let oneThread = [5, 13, 17, 20].map { BLAS.efficientRows($0, threads: 1, blockKernels: true) }
        #expect(oneThread == [8, 16, 17, 24])
        let otherKernels = [3, 13, 37, 200].map { BLAS.efficientRows($0, threads: 2, blockKernels: false) }
        #expect(otherKernels == [3, 13, 37, 200])
        // Whatever this process's kernel: never fewer rows, never more than a block more.
        for rows in 1...100 {
            let padded = BLAS.efficientRows(rows)
            #expect(padded >= rows && padded < rows + 8 * BLAS.threadCount, "\(rows) → \(padded)")
        }
    }
}
