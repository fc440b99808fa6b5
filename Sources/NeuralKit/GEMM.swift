import COneDNN

/// A dense product of plain row-major operands on a compute backend: OpenBLAS's `sgemm`, or
/// oneDNN's `dnnl_sgemm`, which its JIT builds for the CPU's instruction set.
///
/// For products whose operands change from call to call (training's: the weights move every
/// step), where reordering a weight once for oneDNN's matmul primitive does not pay. oneDNN's
/// plain GEMM is also what keeps such products fast on a CPU OpenBLAS does not recognise: on
/// an Intel Xeon with AVX-512 that OpenBLAS 0.3.21 runs on its SSE3 (Prescott) kernels,
/// training's 32-row products ran at 7–30 GFLOP/s there and 20–160 on oneDNN, one thread.
public enum GEMM {
    /// `C ← alpha · op(A) · op(B) + beta · C`, row-major, op(A) m × k and op(B) k × n, on
    /// `backend` (by default the task's `Compute.current`). oneDNN's runs on the calling
    /// thread's OpenMP team (`omp_set_num_threads`), OpenBLAS's on `BLAS.threadCount`.
    public static func multiply(
        on backend: ComputeBackend = Compute.current.backend,
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard backend == .oneDNN, m > 0, n > 0, k > 0 else {
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let status = dnnl_sgemm(transposeA ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
                                transposeB ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
                                Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        // Only malformed arguments fail (a leading dimension too small), which is a caller's bug.
        precondition(status == dnnl_success, "dnnl_sgemm \(m)×\(n)×\(k) failed with status \(status.rawValue)")
    }
}
