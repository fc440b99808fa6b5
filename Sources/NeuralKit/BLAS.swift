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

    /// The row count, at least `rows`, at which a GEMM whose A has `rows` rows is done
    /// soonest: callers whose rows are independent (a transformer's dense layers) may run the
    /// GEMM on that many and ignore the extra ones.
    ///
    /// OpenBLAS's AVX2 and AVX-512 kernels split a small-row product across threads in blocks
    /// of 8 rows each, and a ragged block costs about a whole one more: with 2 threads, 37 rows
    /// of [37, 1024]·[1024, 4096] took 3.6 ms and 48 rows 3.0 ms; over 12–100 rows, rounding
    /// up to a multiple of 16 except just past one saved 13 % on the
    /// Haswell kernels and 9 % on Cooperlake's. The older SSE kernels (Prescott, Sandybridge)
    /// lose by it, so they get `rows` back. NeuralKitBenchmarks times both ways on this machine.
    public static func efficientRows(_ rows: Int) -> Int {
        efficientRows(rows, threads: threadCount, blockKernels: roundsUpRows)
    }

    /// The rule, for a given thread count and kernel kind: rows go up to whole blocks of
    /// 8 per thread unless they are at most 2 past one (those finish sooner as they are).
    static func efficientRows(_ rows: Int, threads: Int, blockKernels: Bool) -> Int {
        let block = 8 * max(1, threads)
        let ragged = rows % block
        guard blockKernels, ragged >= 3 else { return rows }
        return rows - ragged + block
    }

    /// Whether the kernel family is one whose small-row GEMMs run faster on whole row blocks.
    static let roundsUpRows: Bool = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"].contains(coreName)

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
