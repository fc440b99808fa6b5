/// Multi-head self-attention over one sequence, as in BERT-style encoders (HuBERT's
/// `HubertAttention` without masking): softmax(Q Kᵀ / √d) V per head, then an output
/// projection.
///
/// Q, K and V are one fused GEMM ([T, D] · [D, 3D]); each head then reads its columns of
/// that product in place through the GEMM's leading dimension, so nothing is copied per head.
///
/// Checkpoint keys (HuggingFace): `<prefix>.q_proj`, `.k_proj`, `.v_proj`, `.out_proj`,
/// each `.weight` [D, D] and `.bias` [D]; the loader fuses the first three.
public struct MultiHeadSelfAttention: Sendable {
    /// Q, K and V projections stacked: weight [3D, D], bias [3D].
    public let inputProjection: Linear
    public let outputProjection: Linear
    public let heads: Int
    /// The per-head products on oneDNN, a group of heads per call; nil on OpenBLAS.
    let products: OneDNNAttention?

    public init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int) {
        let width = query.outputFeatures
        precondition([query, key, value, output].allSatisfy { $0.inputFeatures == width && $0.outputFeatures == width },
                     "attention projections must all be [\(width), \(width)]")
        precondition(heads > 0 && width % heads == 0, "\(width) features do not split into \(heads) heads")
        func stacked(_ parts: [Tensor]) -> Tensor {
            Tensor(shape: [parts.map(\.shape[0]).reduce(0, +)] + parts[0].shape.dropFirst(),
                   scalars: parts.flatMap(\.scalars))
        }
        let zeros = Tensor(shape: [width])
        let biases = [query.bias, key.bias, value.bias]
        inputProjection = Linear(
            weight: stacked([query.weight, key.weight, value.weight]),
            bias: biases.allSatisfy({ $0 == nil }) ? nil : stacked(biases.map { $0 ?? zeros }))
        outputProjection = output
        self.heads = heads
        products = Self.products(heads: heads, width: width, compute: .current)
    }

    /// Attention whose Q, K, V projections are already fused: `inputProjection` maps D to
    /// 3D, Q first (as `torch.nn.MultiheadAttention.in_proj_weight` stacks them).
    public init(fusedInputProjection: Linear, output: Linear, heads: Int, compute: Compute = .current) {
        let width = output.outputFeatures
        precondition(fusedInputProjection.inputFeatures == width && fusedInputProjection.outputFeatures == 3 * width
                     && output.inputFeatures == width, "fused projection must map \(width) to \(3 * width)")
        precondition(heads > 0 && width % heads == 0, "\(width) features do not split into \(heads) heads")
        inputProjection = fusedInputProjection
        outputProjection = output
        self.heads = heads
        products = Self.products(heads: heads, width: width, compute: compute)
    }

    private static func products(heads: Int, width: Int, compute: Compute) -> OneDNNAttention? {
        compute.backend == .oneDNN ? OneDNNAttention(heads: heads, headWidth: width / heads) : nil
    }

    /// What runs the per-head products for a sequence of `length`.
    public func implementation(length: Int) -> String {
        guard let products else { return "OpenBLAS sgemm \(BLAS.coreName) per head" }
        let (scores, context) = products.implementations(length: length)
        return scores == context ? scores : "\(scores) (scores), \(context) (context)"
    }

    public var width: Int { outputProjection.outputFeatures }
    public var headWidth: Int { width / heads }

    /// Buffers for ``apply(length:rows:input:output:accumulate:scratch:)`` on sequences of up to
    /// `length` rows, without the per-head scores this attention's products do not use (on
    /// oneDNN, length² floats: 1 MB at 10 s of HuBERT, 9 MB at 30 s).
    public func makeScratch(length: Int) -> AttentionScratch {
        AttentionScratch(length: length, width: width, headScores: products == nil)
    }

    /// [T, D] → [T, D], or [N, T, D] → [N, T, D] one sequence at a time.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition((x.rank == 2 || x.rank == 3) && x.shape.last == width,
                     "attention takes [T, \(width)] or [N, T, \(width)], got \(x.shape)")
        let sequences = x.rank == 3 ? x.shape[0] : 1
        let length = x.shape[x.rank - 2]
        var scratch = makeScratch(length: length)
        return x.withUnsafeBufferPointer { input in
            Tensor(shape: x.shape) { output in
                for n in 0..<sequences {
                    let offset = n * length * width
                    apply(length: length, input: input.baseAddress! + offset,
                          output: output.baseAddress! + offset, scratch: &scratch)
                }
            }
        }
    }

    /// Attention of one sequence of `length` rows on raw buffers; `scratch` must be sized
    /// for at least `rows` (reuse it across calls to avoid allocating). With `accumulate`
    /// the result is added to `output` (the residual connection).
    ///
    /// `rows` ≥ `length` lets the projections run on padding rows after the sequence (see
    /// `BLAS.efficientRows`): those rows neither attend nor are attended to, and their output
    /// is the projections' bias, so the sequence's rows are what they are without them.
    public func apply(length: Int, rows: Int? = nil, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false, scratch: inout AttentionScratch) {
        let rows = rows ?? length
        precondition(rows >= length, "attention: \(rows) rows cannot hold a sequence of \(length)")
        precondition(scratch.capacity >= rows && scratch.width == width, "attention scratch too small")
        precondition(products != nil || scratch.hasHeadScores, "attention on OpenBLAS needs a scratch with head scores")
        guard length > 0 else { return }
        let fused = 3 * width
        let scale = 1 / Float(headWidth).squareRoot()
        scratch.withBuffers { projected, scores, context in
            inputProjection.apply(rows: rows, input: input, output: projected)
            (context + length * width).update(repeating: 0, count: (rows - length) * width)
            if let products {
                // A group of heads per product each way (`OneDNNAttention.headsPerGroup`); the
                // group's scores and its heads' packed Q, K, V come from the shared pool.
                let group = products.headsPerGroup(length: length)
                let scoreCount = group * length * length, packedCount = 3 * group * length * headWidth
                ScratchPool.shared.withBuffer(byteCount: (scoreCount + packedCount) * MemoryLayout<Float>.size) { buffer in
                    let groupScores = buffer.assumingMemoryBound(to: Float.self)
                    let packed = groupScores + scoreCount
                    for first in stride(from: 0, to: heads, by: group) {
                        products.pack(length: length, heads: first, count: group, projected: projected, packed: packed)
                        products.scores(length: length, count: group, packed: packed, scores: groupScores)
                        Activation.softmax(groupScores, rows: group * length, width: length)
                        products.context(length: length, count: group, probabilities: groupScores, packed: packed)
                        products.unpack(length: length, heads: first, count: group, packed: packed, context: context)
                    }
                }
            } else {
                // OpenBLAS: one product per head each way, reading the head's columns of the
                // fused projection in place.
                let scores = scores!
                for head in 0..<heads {
                    let query = projected + head * headWidth
                    let key = projected + width + head * headWidth
                    let value = projected + 2 * width + head * headWidth
                    BLAS.gemm(transposeB: true, m: length, n: length, k: headWidth, alpha: scale,
                              a: query, lda: fused, b: key, ldb: fused, c: scores, ldc: length)
                    Activation.softmax(scores, rows: length, width: length)
                    BLAS.gemm(m: length, n: headWidth, k: length,
                              a: scores, lda: length, b: value, ldb: fused,
                              c: context + head * headWidth, ldc: width)
                }
            }
            outputProjection.apply(rows: rows, input: context, output: output, accumulate: accumulate)
        }
    }
}

/// Reusable buffers for ``MultiHeadSelfAttention/apply(length:input:output:scratch:)``.
public struct AttentionScratch: ~Copyable {
    public let capacity: Int
    public let width: Int
    // Pass buffers: a long pass's are mapped and unmapped, not left as holes in the heap.
    private let projected: PassBuffer
    /// One head's scores, for OpenBLAS's products; nil where oneDNN's groups of heads take
    /// theirs from the scratch pool (``MultiHeadSelfAttention/makeScratch(length:)``).
    private let scores: PassBuffer?
    private let context: PassBuffer

    /// Buffers for sequences of up to `length` rows of `width` features, on either backend.
    public init(length: Int, width: Int) {
        self.init(length: length, width: width, headScores: true)
    }

    init(length: Int, width: Int, headScores: Bool) {
        capacity = length
        self.width = width
        projected = PassBuffer(count: length * 3 * width)
        scores = headScores ? PassBuffer(count: length * length) : nil
        context = PassBuffer(count: length * width)
    }

    var hasHeadScores: Bool { scores != nil }

    func withBuffers<R>(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>) -> R) -> R {
        let headScores: UnsafeMutablePointer<Float>? = switch scores {
        case .some(let buffer): buffer.pointer
        case .none: nil
        }
        return body(projected.pointer, headScores, context.pointer)
    }
}
