import MediaTypes
import NeuralKit

/// The best rate of one transformer-sized GEMM, measured in the same process and run, so a
/// stage's GFLOP/s can be read against what the machine's BLAS reaches right now (PERF.md:
/// ratios within one run, never absolute times across runs).
package enum GEMMPeak {
    /// GFLOP/s of the fastest of `repeats` products C[m×n] = A[m×k]·B[k×n].
    package static func measure(m: Int = 200, n: Int = 4096, k: Int = 1024, repeats: Int = 30) -> Double {
        ComputeThreads.adopt()
        precondition(m > 0 && n > 0 && k > 0 && repeats > 0, "GEMM sizes and repeats must be positive")
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            best = min(best, elapsed.seconds)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }
}
