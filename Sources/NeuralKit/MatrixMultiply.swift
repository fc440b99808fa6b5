/// Matrix products of tensors: the GEMM every dense layer stands on.
extension Tensor {
    /// `self` (m × k) times `other` (k × n, or n × k when `transposeOther`), one sgemm.
    public func matmul(_ other: Tensor, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul of shapes \(shape) and \(other.shape)")
        let m = shape[0]
        let k = shape[1]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition((transposeOther ? other.shape[1] : other.shape[0]) == k,
                     "matmul: inner dimensions differ in \(shape) and \(other.shape)\(transposeOther ? "ᵀ" : "")")
        return Tensor(shape: [m, n]) { c in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    BLAS.gemm(
                        transposeB: transposeOther, m: m, n: n, k: k,
                        a: a.baseAddress!, lda: k,
                        b: b.baseAddress!, ldb: transposeOther ? k : n,
                        c: c.baseAddress!, ldc: n)
                }
            }
        }
    }
}
