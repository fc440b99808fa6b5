import COneDNN
import CNeuralKernels
import Locking

/// A dense layer's product on oneDNN's matmul primitive: `C[M, N] (+)= X[M, K] · W[K, N] + b`,
/// F32 in and out, with the weight held only in the layout the primitive prefers (reordered
/// once, at load), in F32 or BF16.
///
/// Primitives are made per row count and cached: rows vary per call (48-row windows live,
/// 50–1000-row utterances), and a primitive built for its exact M beat one built with a
/// runtime M (`DNNL_RUNTIME_DIM_VAL`), for which oneDNN 2.6 falls back from its brgemm
/// kernels to `gemm:jit` (`merd bench gemm --runtime-rows`, EPYC Zen 4, 2 threads with one core
/// busy elsewhere, GFLOP/s exact vs runtime M): M = 48, (N, K) = (4096, 1024): F32 97 vs 97,
/// BF16 204 vs 81; (1024, 4096): F32 99 vs 97, BF16 215 vs 34; M = 200, (4096, 1024): F32 108
/// vs 98, BF16 215 vs 90; (1024, 1024): F32 112 vs 102, BF16 218 vs 36. A new M costs one primitive
/// creation (JIT) once; oneDNN's own primitive cache (1024 entries) makes a repeat cheap.
package final class OneDNNMatmul: @unchecked Sendable {
    let inputFeatures: Int
    let outputFeatures: Int
    let precision: ComputePrecision
    /// The weight in the primitive's layout and data type; the only copy this layer keeps.
    let weights: AlignedBuffer
    let weightsDescriptor: dnnl_memory_desc_t
    /// [1, N] F32, added by the primitive.
    let bias: Tensor?
    /// How primitives treat the row count.
    let rowsPolicy: RowsPolicy
    private let primitives = Locked<[Key: Entry]>([:])

    /// Whether primitives are built per row count or once with a runtime row count.
    package enum RowsPolicy: Sendable {
        /// One primitive per exact M (cached): the brgemm kernels, faster (type comment).
        case exact
        /// One primitive for every M (`DNNL_RUNTIME_DIM_VAL`), for comparison in benchmarks.
        case runtime
    }

    /// Where the weight starts in memory.
    ///
    /// oneDNN 2.6's `gemm:jit` (its F32 matmul on CPUs without AVX-512) runs products of up
    /// to a few hundred rows on its no-copy AVX2 kernel (`jit_avx_gemm_f32`), which copies
    /// each panel of the weight into a contiguous buffer only when the weight's address or
    /// leading dimension is not a multiple of 32 bytes: the copy was meant to align it. A
    /// 64-byte-aligned weight whose leading dimension is a multiple of 8 floats (HuBERT's
    /// 1024, 3072, 4096) is read in place instead, one column every 4, 12 or 16 KiB, and those
    /// reads crowd a few cache sets. From 19 rows on (the kernel never copies for fewer) the
    /// copy doubles the rate on a Zen 2: Benchmarks/RESULTS.md ("AVX2: where oneDNN's weight
    /// sits"), and in each run `merd bench gemm --aligned-weights`.
    package enum WeightPlacement: Sendable {
        /// 16 bytes past a 64-byte boundary when the implementation is `gemm:jit` in F32
        /// (where `malloc` would put it), 64-byte aligned for every other implementation.
        case preferred
        /// 64-byte aligned whatever the implementation, for comparison in benchmarks.
        case aligned

        /// The weight's offset from a 64-byte boundary under `implementation`.
        func offset(implementation: String, precision: ComputePrecision) -> Int {
            self == .preferred && precision == .f32 && implementation.hasPrefix("gemm:jit") ? 16 : 0
        }
    }

    /// Row counts (with or without accumulation) whose primitives a layer keeps.
    static let cachedRowCounts = 32

    private struct Key: Hashable {
        let rows: Int
        let accumulate: Bool
    }

    private struct Entry {
        let matmul: Primitive
    }

    /// - Parameter inputMajorWeight: [K, N] row-major F32 (the transposed `torch.nn.Linear` weight).
    package init(inputMajorWeight: Tensor, bias: Tensor?, precision: ComputePrecision, rowsPolicy: RowsPolicy = .exact,
                 weightPlacement: WeightPlacement = .preferred) throws(OneDNNError) {
        let (k, n) = (inputMajorWeight.shape[0], inputMajorWeight.shape[1])
        inputFeatures = k
        outputFeatures = n
        self.precision = precision
        self.rowsPolicy = rowsPolicy
        self.bias = bias?.reshaped([1, n]).contiguous()
        // The layout the primitive wants for this weight, asked with a typical row count.
        let probe = try Self.makeMatmul(rows: rowsPolicy == .runtime ? nil : 48, k: k, n: n, precision: precision,
                                        weights: try OneDNN.descriptor([k, n], precision.dataType, dnnl_format_tag_any),
                                        hasBias: bias != nil, accumulate: false)
        weightsDescriptor = probe.weightsDescriptor
        weights = AlignedBuffer(byteCount: dnnl_memory_desc_get_size([probe.weightsDescriptor]),
                                offset: weightPlacement.offset(implementation: probe.implementation, precision: precision))
        let plain = try OneDNN.descriptor([k, n], dnnl_f32, dnnl_ab)
        let reorder = try OneDNN.reorder(from: plain, to: weightsDescriptor)
        let source = inputMajorWeight.contiguous()
        source.withUnsafeBufferPointer { w in
            reorder.execute([(DNNL_ARG_FROM, plain, UnsafeMutableRawPointer(mutating: w.baseAddress!)),
                             (DNNL_ARG_TO, weightsDescriptor, weights.pointer)])
        }
        let probeRows = rowsPolicy == .runtime ? nil : 48
        primitives.withLock { $0[Key(rows: probeRows ?? -1, accumulate: false)] = Entry(matmul: probe) }
    }

    /// The implementation oneDNN chose for `rows` rows (`brg:avx512_core_bf16`…).
    package func implementation(rows: Int) throws(OneDNNError) -> String { try entry(rows: rows, accumulate: false).matmul.implementation }

    /// How far the weight starts past a 64-byte boundary (`WeightPlacement`).
    package var weightOffset: Int { Int(bitPattern: weights.pointer) & 63 }

    /// How many primitives this layer holds now.
    var cachedPrimitiveCount: Int { primitives.withLock { $0.count } }

    /// The weight back in plain F32 [K, N] (rounded to BF16 when held so).
    func inputMajorWeight() -> Tensor {
        let plain = try! OneDNN.descriptor([inputFeatures, outputFeatures], dnnl_f32, dnnl_ab)
        let reorder = try! OneDNN.reorder(from: weightsDescriptor, to: plain)
        return Tensor(shape: [inputFeatures, outputFeatures]) { out in
            reorder.execute([(DNNL_ARG_FROM, weightsDescriptor, weights.pointer), (DNNL_ARG_TO, plain, UnsafeMutableRawPointer(out.baseAddress!))])
        }
    }

    /// `output[rows × N] (+)= input[rows × K] · W + b`.
    package func apply(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, accumulate: Bool) {
        guard rows > 0 else { return }
        if weightOffset != 0, rows < Self.copyingRows { return applyPadded(rows: rows, input: input, output: output, accumulate: accumulate) }
        let entry: Entry
        do { entry = try self.entry(rows: rows, accumulate: accumulate) } catch {
            preconditionFailure("\(error)")
        }
        let (k, n) = (inputFeatures, outputFeatures)
        let plainInput = try! OneDNN.descriptor([rows, k], dnnl_f32, dnnl_ab)
        let destination = try! OneDNN.descriptor([rows, n], dnnl_f32, dnnl_ab)
        var arguments: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (DNNL_ARG_WEIGHTS, weightsDescriptor, weights.pointer),
            (DNNL_ARG_DST, destination, UnsafeMutableRawPointer(output)),
        ]
        func run() {
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    let descriptor = try! OneDNN.descriptor([1, n], dnnl_f32, dnnl_ab)
                    entry.matmul.execute(arguments + [(DNNL_ARG_BIAS, descriptor, UnsafeMutableRawPointer(mutating: b.baseAddress!))])
                }
            } else {
                entry.matmul.execute(arguments)
            }
        }
        if precision == .bf16 {
            // The input rows in BF16. oneDNN's reorder did this at 1.4 G values/s on one
            // thread, 97 ms of a 10-s HuBERT BF16 pass on a Zen 4 (6.5 %); the conversion
            // instruction over the budget's threads does it at memory speed, to the same bits.
            let converted = try! OneDNN.descriptor([rows, k], dnnl_bf16, dnnl_ab)
            ScratchPool.shared.withBuffer(byteCount: rows * k * 2) { buffer in
                let halves = buffer.bindMemory(to: UInt16.self, capacity: rows * k)
                RowParallel.forEach(rows: rows, width: k) { range in
                    nk_f32_to_bf16(input + range.lowerBound * k, halves + range.lowerBound * k, range.count * k)
                }
                arguments.append((DNNL_ARG_SRC, converted, buffer))
                run()
            }
        } else {
            arguments.append((DNNL_ARG_SRC, plainInput, UnsafeMutableRawPointer(mutating: input)))
            run()
        }
    }

    /// The fewest rows for which `gemm:jit`'s AVX2 kernel copies the weight's panels
    /// (`WeightPlacement`): three of its 6-column blocks of the output's transpose.
    static let copyingRows = 19

    /// A product of fewer than `copyingRows` rows on a weight placed for the copy, run as
    /// one of `copyingRows` rows, the added rows zero. Below that count the kernel reads the
    /// weight in place, across cache lines where it is not 32-byte aligned: 49–59 GFLOP/s at
    /// 12–18 rows on a Zen 2, against 95–120 for 19 (Benchmarks/RESULTS.md), so the padded
    /// product is the quicker one even counting its zero rows.
    private func applyPadded(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let (k, n, padded) = (inputFeatures, outputFeatures, Self.copyingRows)
        ScratchPool.shared.withBuffer(byteCount: padded * k * MemoryLayout<Float>.stride) { inputBuffer in
            ScratchPool.shared.withBuffer(byteCount: padded * n * MemoryLayout<Float>.stride) { outputBuffer in
                let paddedInput = inputBuffer.bindMemory(to: Float.self, capacity: padded * k)
                let paddedOutput = outputBuffer.bindMemory(to: Float.self, capacity: padded * n)
                paddedInput.update(from: input, count: rows * k)
                (paddedInput + rows * k).initialize(repeating: 0, count: (padded - rows) * k)
                if accumulate { paddedOutput.update(from: output, count: rows * n) }
                apply(rows: padded, input: paddedInput, output: paddedOutput, accumulate: accumulate)
                output.update(from: paddedOutput, count: rows * n)
            }
        }
    }

    private func entry(rows: Int, accumulate: Bool) throws(OneDNNError) -> Entry {
        let key = Key(rows: rowsPolicy == .runtime ? -1 : rows, accumulate: accumulate)
        if let entry = primitives.withLock({ $0[key] }) { return entry }
        let matmul = try Self.makeMatmul(rows: rowsPolicy == .runtime ? nil : rows, k: inputFeatures, n: outputFeatures,
                                         precision: precision, weights: weightsDescriptor, hasBias: bias != nil, accumulate: accumulate)
        let entry = Entry(matmul: matmul)
        primitives.withLock { cache in
            // Utterances bring new row counts for as long as the daemon runs: keep a bounded
            // set (a dropped one is rebuilt from oneDNN's own primitive cache when it returns).
            if cache.count >= Self.cachedRowCounts, let victim = cache.keys.first(where: { $0.rows != 48 }) {
                cache.removeValue(forKey: victim)
            }
            cache[key] = entry
        }
        return entry
    }

    /// [M, columns] row-major; M nil is oneDNN's runtime dimension.
    private static func rowsDescriptor(_ rows: Int?, _ columns: Int, _ type: dnnl_data_type_t) throws(OneDNNError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let dims: [Int64] = [rows.map(Int64.init) ?? Int64.min, Int64(columns)]
        try OneDNN.check(dnnl_memory_desc_init_by_tag(&md, 2, dims, type, dnnl_ab), "memory descriptor [\(rows.map(String.init) ?? "runtime"), \(columns)]")
        return md
    }

    private static func makeMatmul(rows: Int?, k: Int, n: Int, precision: ComputePrecision, weights: dnnl_memory_desc_t,
                                   hasBias: Bool, accumulate: Bool) throws(OneDNNError) -> Primitive {
        var source = try rowsDescriptor(rows, k, precision.dataType)
        var weights = weights
        var destination = try rowsDescriptor(rows, n, dnnl_f32)
        // A zero descriptor disables the bias term.
        var bias = hasBias ? try OneDNN.descriptor([1, n], dnnl_f32, dnnl_ab) : dnnl_memory_desc_t()
        var descriptor = dnnl_matmul_desc_t()
        let shape = "matmul [\(rows.map(String.init) ?? "M"), \(k)]·[\(k), \(n)] \(precision.rawValue)"
        try OneDNN.check(dnnl_matmul_desc_init(&descriptor, &source, &weights, &bias, &destination), shape)
        return try OneDNN.withAttributes(accumulate: accumulate) { attributes throws(OneDNNError) in
            try OneDNN.primitive(&descriptor, attributes: attributes, shape)
        }
    }
}

extension ComputePrecision {
    var dataType: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
}

/// Buffers reused across calls (BF16 copies of activations, a convolution's repacked
/// input), so that a call does not map and fault in fresh pages.
///
/// One pool serves every layer: a pool per layer kept a buffer per layer (HuBERT-large in
/// BF16, 96 products, up to 4 MiB each: +250 MiB of peak RSS over a 10-s pass), where the
/// layers of one pass run one after another and need one buffer per running thread.
final class ScratchPool: Sendable {
    static let shared = ScratchPool()

    private let free = Locked<[AlignedBuffer]>([])
    /// Idle buffers kept; more (after a burst of concurrent callers) are freed.
    private let idleLimit = 4

    func withBuffer<R>(byteCount: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        let buffer = free.withLock { buffers in
            // The smallest that fits, so a small request does not take the large buffer.
            let fitting = buffers.indices.filter { buffers[$0].byteCount >= byteCount }
            guard let index = fitting.min(by: { buffers[$0].byteCount < buffers[$1].byteCount }) else { return nil }
            return buffers.remove(at: index)
        } ?? AlignedBuffer(byteCount: byteCount)
        defer {
            free.withLock { buffers in
                buffers.append(buffer)
                if buffers.count > idleLimit, let smallest = buffers.indices.min(by: { buffers[$0].byteCount < buffers[$1].byteCount }) {
                    buffers.remove(at: smallest)
                }
            }
        }
        return body(buffer.pointer)
    }
}
