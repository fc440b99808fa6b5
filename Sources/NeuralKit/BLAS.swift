import COpenBLAS

/// The OpenBLAS calls NeuralKit makes, in row-major terms.
public enum BLAS {
    /// `C ← alpha · op(A) · op(B) + beta · C`, all row-major, where op(A) is m × k and op(B)
    /// is k × n. Leading dimensions let a caller address column blocks of a wider matrix
    /// (one head of a fused QKV projection) without copying.
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // BLAS leaves C untouched only when beta is 1; keep the contract for an empty sum.
            if beta != 1 {
                for row in 0..<m { for column in 0..<n { c[row * ldc + column] *= beta } }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// Threads OpenBLAS uses for one call. Set it to the compute budget so that OpenBLAS and
    /// Swift's pool never both spin on the same cores.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernel family OpenBLAS picked for this CPU (`Haswell`, `SkylakeX`, `Cooperlake`…);
    /// benchmarks report it, since OPENBLAS_CORETYPE can pin an older, slower one.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build description (version, threading model, target).
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }
}
