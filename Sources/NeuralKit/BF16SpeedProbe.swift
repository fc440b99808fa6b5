/// How fast BF16 products run here against F32, measured rather than assumed from the CPU's
/// flags. AVX512_BF16 is no speed-up everywhere: on AMD Zen 4, oneDNN's BF16 kernels ran
/// HuBERT-large's products at 0.9–2.1× F32's rate (1.9× at the probe's shape), but on an Intel
/// Xeon with AVX512_BF16 and no AMX at 0.5–0.8× (Benchmarks/RESULTS.md; HuBERT-large 1.6×
/// slower). BF16 still halves the weights' memory, so the choice stays the user's; what it
/// costs must be said.
public enum BF16SpeedProbe {
    /// One of HuBERT-large's dense products as live speech runs it: 48 rows through a
    /// [1024 → 4096] layer (0.4 GFLOP).
    static let rows = 48, inputs = 1024, outputs = 4096

    /// BF16's rate over F32's for that product on oneDNN, each the best of `repeats` after a
    /// warm-up (about 30 ms in all at 100–300 GFLOP/s). Throws when oneDNN cannot build
    /// either primitive.
    public static func speedup(repeats: Int = 5) throws(OneDNNError) -> Double {
        ComputeThreads.adopt()
        var random = SplitMix64(seed: 17)
        let weight = Tensor(shape: [inputs, outputs]) { w in for i in w.indices { w[i] = Float.random(in: -0.5..<0.5, using: &random) } }
        let input = [Float](unsafeUninitializedCapacity: rows * inputs) { x, count in
            for i in 0..<(rows * inputs) { x[i] = Float.random(in: -0.5..<0.5, using: &random) }
            count = rows * inputs
        }
        let f32 = try best(OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: .f32), input: input, repeats: repeats)
        let bf16 = try best(OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: .bf16), input: input, repeats: repeats)
        return f32 / bf16
    }

    private static func best(_ matmul: OneDNNMatmul, input: [Float], repeats: Int) -> Double {
        var output = [Float](repeating: 0, count: rows * outputs)
        var best = Double.infinity
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for attempt in 0...max(1, repeats) {
                    let start = ContinuousClock.now
                    matmul.apply(rows: rows, input: x.baseAddress!, output: y.baseAddress!, accumulate: false)
                    let elapsed = ContinuousClock.now - start
                    if attempt > 0 {
                        let (seconds, attoseconds) = elapsed.components
                        best = min(best, Double(seconds) + Double(attoseconds) * 1e-18)
                    }
                }
            }
        }
        return best
    }

    /// What to tell someone who chose BF16, given the measured `speedup`: a warning when it is
    /// slower than F32 here, else nil.
    public static func warning(speedup: Double) -> String? {
        guard speedup < 1 else { return nil }
        let rate = (speedup * 100).rounded() / 100
        return "compute.precision bf16 runs the products at \(rate)× f32's speed on this CPU (\(CPUFlags.modelName); "
            + "measured at start, \(rows)×\(outputs)×\(inputs)): it halves the weights' memory but is slower here; "
            + "set precision = \"f32\" (or --precision f32) for speed"
    }
}
