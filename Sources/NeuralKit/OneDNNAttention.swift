import COneDNN
import Locking

/// The two per-head products of self-attention on oneDNN's matmul, a group of heads per call:
/// scores[h] = Q[h] · K[h]ᵀ / √d, then context[h] = P[h] · V[h], where Q, K and V are the
/// column blocks of the fused projection ([T, 3D]), copied head-major a group at a time first,
/// and the context is copied back into its [T, D] rows. Read in place through strides, the
/// same products ran on oneDNN's `gemm:jit`; on dense copies they run on its brgemm kernels,
/// and the copies are 4 · T · D floats a layer.
///
/// A group holds as many heads as keep its scores within `scoreBudget` (every head at once
/// for live windows; 2 of 16 heads for 10 s): the scores of all heads are heads · T² floats,
/// 16 MiB at 10 s and 144 MiB at 30 s, and the buffer that held them stayed in the scratch
/// pool after the pass. Groups of 2 MiB rather than 4 took 2.7 MB off a 10-s pass's peak, at
/// no cost measurable in its time: the products of a group are still hundreds of rows.
///
/// On the oneDNN backend this replaced 2 · heads OpenBLAS calls per layer. Those also left
/// OpenBLAS's worker threads spinning (`sched_yield`, ~10 % of a 2-core HuBERT pass as
/// system time) while oneDNN's OpenMP team ran the next dense layer on the same cores.
/// Scores and context stay F32 in either precision: they are ~8 % of a HuBERT layer's FLOPs
/// at 10 s, and softmax's inputs are where BF16's 8 bits of mantissa would cost most.
package final class OneDNNAttention: @unchecked Sendable {
    let heads: Int
    let headWidth: Int
    private let primitives = Locked<[Key: Entry]>([:])

    private struct Key: Hashable {
        let length: Int
        let heads: Int
    }

    private struct Entry {
        let scores: Primitive
        let context: Primitive
        let query, keyTransposed, value, contextRows, scoresDescriptor: dnnl_memory_desc_t
    }

    /// Group shapes whose primitives are kept (as `OneDNNMatmul.cachedRowCounts`).
    static let cachedLengths = 32

    /// Bytes of scores one group may hold.
    static let scoreBudget = 2 << 20

    package init(heads: Int, headWidth: Int) {
        self.heads = heads
        self.headWidth = headWidth
    }

    /// Heads per product for a sequence of `length`: the most that divide the heads evenly
    /// and keep a group's scores within `scoreBudget`, at least one.
    package func headsPerGroup(length: Int) -> Int {
        let perHead = max(1, length * length * MemoryLayout<Float>.size)
        return (1...heads).last { heads % $0 == 0 && $0 * perHead <= Self.scoreBudget } ?? 1
    }

    /// Copies the Q, K and V of heads `first ..< first + count` out of `projected` [length, 3D]
    /// into `packed` (3 · count · length · d floats, head-major), which `scores` and `context`
    /// read. One group at a time, not every head at once: when the heads come in several groups
    /// (long sequences) a group's copy is what is held, 1.5 MB at 10 s of HuBERT-large where all
    /// heads' were 6 MB, and 1.2 MB at 30 s against 18 MB.
    package func pack(length: Int, heads first: Int, count: Int, projected: UnsafePointer<Float>,
                      packed: UnsafeMutablePointer<Float>) {
        let width = heads * headWidth
        let block = length * count * headWidth
        // packed[p][h][t][j] = projected[t][p·D + (first + h)·d + j], for p = Q, K, V.
        for t in 0..<length {
            let row = projected + t * 3 * width + first * headWidth
            for part in 0..<3 {
                for head in 0..<count {
                    (packed + part * block + (head * length + t) * headWidth)
                        .update(from: row + part * width + head * headWidth, count: headWidth)
                }
            }
        }
    }

    /// Scores of the `count` heads `pack` left in `packed` into `scores` [count, length, length],
    /// each row softmaxed by the caller before `context`.
    package func scores(length: Int, count: Int, packed: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        let entry = self.entry(length: length, heads: count)
        let block = length * count * headWidth
        entry.scores.execute([
            (DNNL_ARG_SRC, entry.query, UnsafeMutableRawPointer(packed)),
            (DNNL_ARG_WEIGHTS, entry.keyTransposed, UnsafeMutableRawPointer(packed + block)),
            (DNNL_ARG_DST, entry.scoresDescriptor, UnsafeMutableRawPointer(scores)),
        ])
    }

    /// The context of the same heads from their probabilities, into their Q block of `packed`
    /// (which their scores have read already).
    package func context(length: Int, count: Int, probabilities: UnsafePointer<Float>, packed: UnsafeMutablePointer<Float>) {
        let entry = self.entry(length: length, heads: count)
        let block = length * count * headWidth
        entry.context.execute([
            (DNNL_ARG_SRC, entry.scoresDescriptor, UnsafeMutableRawPointer(mutating: probabilities)),
            (DNNL_ARG_WEIGHTS, entry.value, UnsafeMutableRawPointer(packed + 2 * block)),
            (DNNL_ARG_DST, entry.contextRows, UnsafeMutableRawPointer(packed)),
        ])
    }

    /// context[t, (first + h)·d + j] = the contexts `context(…)` left in `packed` for heads
    /// `first ..< first + count`, into their columns of the [length, D] rows.
    package func unpack(length: Int, heads first: Int, count: Int, packed: UnsafePointer<Float>,
                        context: UnsafeMutablePointer<Float>) {
        let width = heads * headWidth
        for t in 0..<length {
            for head in 0..<count {
                (context + t * width + (first + head) * headWidth)
                    .update(from: packed + (head * length + t) * headWidth, count: headWidth)
            }
        }
    }

    /// The implementations oneDNN chose for a sequence of `length` (scores, context).
    package func implementations(length: Int) -> (scores: String, context: String) {
        let entry = self.entry(length: length, heads: headsPerGroup(length: length))
        return (entry.scores.implementation, entry.context.implementation)
    }

    private func entry(length: Int, heads count: Int) -> Entry {
        let key = Key(length: length, heads: count)
        if let entry = primitives.withLock({ $0[key] }) { return entry }
        let entry: Entry
        do { entry = try makeEntry(length: length, heads: count) } catch {
            preconditionFailure("attention products on oneDNN, \(count) of \(heads) heads × \(headWidth), length \(length): \(error)")
        }
        primitives.withLock { cache in
            if cache.count >= Self.cachedLengths, let victim = cache.keys.first { cache.removeValue(forKey: victim) }
            cache[key] = entry
        }
        return entry
    }

    private func makeEntry(length: Int, heads count: Int) throws(OneDNNError) -> Entry {
        let (h, t, d) = (Int64(count), Int64(length), Int64(headWidth))
        // Dense head-major copies [H, T, d] of Q, K and V (`pack`), a group's heads read from its
        // first; K read as [H, d, T] through its strides is Kᵀ.
        let query = try Self.strided([h, t, d], [t * d, d, 1])
        let keyTransposed = try Self.strided([h, d, t], [t * d, 1, d])
        let scoresDescriptor = try Self.strided([h, t, t], [t * t, t, 1])
        let value = try Self.strided([h, t, d], [t * d, d, 1])
        let contextRows = try Self.strided([h, t, d], [t * d, d, 1])
        let scale = 1 / Float(headWidth).squareRoot()
        let scores = try Self.matmul(query, keyTransposed, scoresDescriptor, scale: scale, "attention scores [\(count), \(length), \(length)]")
        let context = try Self.matmul(scoresDescriptor, value, contextRows, scale: nil, "attention context [\(count), \(length), \(headWidth)]")
        return Entry(scores: scores, context: context, query: query, keyTransposed: keyTransposed,
                     value: value, contextRows: contextRows, scoresDescriptor: scoresDescriptor)
    }

    private static func strided(_ dims: [Int64], _ strides: [Int64]) throws(OneDNNError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        try OneDNN.check(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims, dnnl_f32, strides), "memory descriptor \(dims) strides \(strides)")
        return md
    }

    private static func matmul(_ source: dnnl_memory_desc_t, _ weights: dnnl_memory_desc_t, _ destination: dnnl_memory_desc_t,
                               scale: Float?, _ operation: String) throws(OneDNNError) -> Primitive {
        var source = source, weights = weights, destination = destination
        var descriptor = dnnl_matmul_desc_t()
        try OneDNN.check(dnnl_matmul_desc_init(&descriptor, &source, &weights, nil, &destination), operation)
        return try OneDNN.withAttributes(accumulate: false) { attributes throws(OneDNNError) in
            if var scale {
                try OneDNN.check(dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &scale), "\(operation): output scale")
            }
            return try OneDNN.primitive(&descriptor, attributes: attributes, operation)
        }
    }
}
