/// Which backend runs live speech's dense products faster on this CPU, measured where the
/// kernels' names do not settle it.
///
/// With AVX-512, oneDNN's brgemm kernels outrun OpenBLAS everywhere merd has been measured,
/// and `Compute.standard` takes oneDNN on the name alone. Without it, oneDNN 2.6 has only
/// `gemm:jit`, and which backend is faster turns on the row count and on OpenBLAS's kernels
/// for the CPU: on an AMD EPYC Zen 2, 2 threads, with the weight placed for gemm:jit's copy
/// (`OneDNNMatmul.WeightPlacement`), oneDNN ran 19–36-row products 1.6–2.0× OpenBLAS Zen's
/// rate and 48- and 200-row ones at 0.9–1.1× (Benchmarks/RESULTS.md). OpenBLAS's Haswell
/// kernels on Intel CPUs were not measured. So merd times both on what live speech runs.
package enum BackendSpeedProbe {
    /// HuBERT-large's two widest products at the row counts live speech gives: a last
    /// window's typical 30 rows through [1024 → 4096], a periodic window's 48 through
    /// [4096 → 1024] (0.65 GFLOP together).
    static let products: [(rows: Int, inputs: Int, outputs: Int)] = [(30, 1024, 4096), (48, 4096, 1024)]

    /// oneDNN's F32 rate over OpenBLAS's on `products`: each product run on the two backends
    /// in turn, `rounds` times after a warm-up of each, and each backend's best time per
    /// product summed (about 120 ms in all at 100–150 GFLOP/s). Alternating keeps a burst of
    /// other work from landing on one backend's runs only. Throws when oneDNN cannot build a
    /// primitive.
    package static func oneDNNSpeedup(rounds: Int = 8) throws(OneDNNError) -> Double {
        ComputeThreads.adopt()
        var openBLAS = 0.0, oneDNN = 0.0
        for (rows, inputs, outputs) in products {
            // The values do not change the time; a pattern fills 4 M weights faster than a generator.
            let weight = Tensor(shape: [inputs, outputs]) { w in for i in w.indices { w[i] = Float(i % 17) * 0.03 - 0.25 } }
            let input = Tensor(shape: [rows, inputs]) { x in for i in x.indices { x[i] = Float(i % 13) * 0.04 - 0.25 } }
            let blas = Linear(inputMajorWeight: weight, bias: nil, compute: .openBLAS)
            let matmul = try OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: .f32)
            let times = ProductTiming.best(rows: rows, outputs: outputs, input: input, rounds: rounds, [
                { blas.apply(rows: rows, input: $0, output: $1) },
                { matmul.apply(rows: rows, input: $0, output: $1, accumulate: false) },
            ])
            openBLAS += times[0]
            oneDNN += times[1]
        }
        return openBLAS / oneDNN
    }
}

/// The best times of products over a few rounds, after one warm-up each (the start-up probes').
enum ProductTiming {
    /// Seconds of the quickest of `rounds` runs of each of `products` on `input` ([rows, K])
    /// into a [rows, outputs] output; each round runs every product once, in order.
    static func best(rows: Int, outputs: Int, input: Tensor, rounds: Int,
                     _ products: [(UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void]) -> [Double] {
        var output = [Float](repeating: 0, count: rows * outputs)
        var best = [Double](repeating: .infinity, count: products.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for round in 0...max(1, rounds) {
                    for (index, product) in products.enumerated() {
                        let start = ContinuousClock.now
                        product(x.baseAddress!, y.baseAddress!)
                        let (seconds, attoseconds) = (ContinuousClock.now - start).components
                        if round > 0 { best[index] = min(best[index], Double(seconds) + Double(attoseconds) * 1e-18) }
                    }
                }
            }
        }
        return best
    }
}
