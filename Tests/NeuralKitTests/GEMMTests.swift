import NeuralKit
import Testing

@Suite("GEMM on either backend")
struct GEMMTests {
    /// C = alpha·op(A)·op(B) + beta·C in doubles, row-major.
    static func reference(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                          b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var result = c
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                result[i * ldc + j] = Float(Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return result
    }

    @Test("every transposition, with alpha, beta and leading dimensions wider than the matrix, equals the double-precision product",
          arguments: ComputeBackend.allCases)
    func forms(backend: ComputeBackend) {
        var random = SplitMix64(seed: 11)
        let (m, n, k) = (7, 33, 65)
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            // Leading dimensions 3 wider than the stored rows, as a column block of a wider matrix.
            let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 3, ldc = n + 3
            let a = (0..<((transposeA ? k : m) * lda)).map { _ in Float.random(in: -1...1, using: &random) }
            let b = (0..<((transposeB ? n : k) * ldb)).map { _ in Float.random(in: -1...1, using: &random) }
            let c = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &random) }
            var result = c
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    result.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(on: backend, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                      a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: 0.25, c: pc.baseAddress!, ldc: ldc)
                    }
                }
            }
            let expected = Self.reference(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                                          b: b, ldb: ldb, beta: 0.25, c: c, ldc: ldc)
            // k = 65 products of values within ±1: F32 accumulation stays within 1e-5.
            let error = zip(result, expected).map { abs($0 - $1) }.max()!
            #expect(error < 1e-5, "\(backend) A\(transposeA ? "ᵀ" : "")·B\(transposeB ? "ᵀ" : ""): max error \(error)")
            // Columns past n in each row of C are not C's: untouched.
            for i in 0..<m { for j in n..<ldc { #expect(result[i * ldc + j] == c[i * ldc + j]) } }
        }
    }
}
