import MediaTypes
import NeuralKit

/// Dense-layer products `C[M, N] = X[M, K] · Wᵀ` on each backend and precision, the shapes
/// HuBERT-large runs (N, K = 4096, 1024 / 1024, 4096 / 3072, 1024 (fused Q, K, V) / 1024, 1024) at the row counts live
/// windows and utterances give. Each rate is the best of `repeats` after one warm-up, so the
/// backends are compared within one run (PERF.md: ratios, not absolute rates across runs).
package struct GEMMBenchmark: Sendable {
    /// One product's shape.
    package struct Shape: Sendable, Hashable {
        package let rows, outputs, inputs: Int
        package var flops: Double { 2 * Double(rows * outputs * inputs) }
        package init(rows: Int, outputs: Int, inputs: Int) { (self.rows, self.outputs, self.inputs) = (rows, outputs, inputs) }
    }

    /// One measured rate and the kernel that ran.
    package struct Result: Sendable {
        package let compute: Compute
        package let shape: Shape
        package let gigaFLOPsPerSecond: Double
        /// OpenBLAS's kernel family or oneDNN's implementation (`brg:avx512_core_bf16`).
        package let kernel: String
    }

    package let repeats: Int
    package init(repeats: Int = 20) { self.repeats = repeats }

    /// The rate of `shape` on `compute`; `runtimeRows` builds oneDNN's primitive with a
    /// runtime M instead of the exact one, `alignedWeights` keeps its weight 64-byte aligned
    /// whatever the implementation (`OneDNNMatmul.WeightPlacement`).
    package func measure(_ shape: Shape, compute: Compute, runtimeRows: Bool = false, alignedWeights: Bool = false) throws -> Result {
        ComputeThreads.adopt()
        var random = SplitMix64(seed: UInt64(shape.rows * 31 + shape.outputs))
        let weight = Tensor(shape: [shape.inputs, shape.outputs]) { w in for i in w.indices { w[i] = Float.random(in: -0.5..<0.5, using: &random) } }
        let input = Tensor(shape: [shape.rows, shape.inputs]) { x in for i in x.indices { x[i] = Float.random(in: -0.5..<0.5, using: &random) } }
        var output = [Float](repeating: 0, count: shape.rows * shape.outputs)
        let product: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
        let kernel: String
        switch compute.backend {
        case .openBLAS:
            let layer = Linear(inputMajorWeight: weight, bias: nil, compute: compute)
            product = { layer.apply(rows: shape.rows, input: $0, output: $1) }
            kernel = "OpenBLAS \(BLAS.coreName)"
        case .oneDNN:
            let matmul = try OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: compute.precision,
                                          rowsPolicy: runtimeRows ? .runtime : .exact,
                                          weightPlacement: alignedWeights ? .aligned : .preferred)
            product = { matmul.apply(rows: shape.rows, input: $0, output: $1, accumulate: false) }
            kernel = try matmul.implementation(rows: shape.rows) + (runtimeRows ? " (runtime M)" : "")
                + " (weight \(matmul.weightOffset == 0 ? "64-byte aligned" : "at +\(matmul.weightOffset)"))"
        }
        var best = Double.infinity
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for attempt in 0...repeats {
                    let start = ContinuousClock.now
                    product(x.baseAddress!, y.baseAddress!)
                    if attempt > 0 { best = min(best, (ContinuousClock.now - start).seconds) }
                }
            }
        }
        return Result(compute: compute, shape: shape, gigaFLOPsPerSecond: shape.flops / best / 1e9, kernel: kernel)
    }

    /// The rows and (N, K) pairs of the standard table.
    package static let standardRows = [12, 24, 48, 100, 200]
    package static let standardOutputsInputs = [(4096, 1024), (1024, 4096), (3072, 1024), (1024, 1024)]
}
