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

    /// BF16's rate over F32's for that product on oneDNN, each the best of `repeats` runs,
    /// the two in turn, after a warm-up (about 30 ms in all at 100–300 GFLOP/s). Throws when
    /// oneDNN cannot build either primitive.
    public static func speedup(repeats: Int = 5) throws(OneDNNError) -> Double {
        ComputeThreads.adopt()
        var random = SplitMix64(seed: 17)
        let weight = Tensor(shape: [inputs, outputs]) { w in for i in w.indices { w[i] = Float.random(in: -0.5..<0.5, using: &random) } }
        let input = Tensor(shape: [rows, inputs]) { x in for i in x.indices { x[i] = Float.random(in: -0.5..<0.5, using: &random) } }
        let f32 = try OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: .f32)
        let bf16 = try OneDNNMatmul(inputMajorWeight: weight, bias: nil, precision: .bf16)
        let times = ProductTiming.best(rows: rows, outputs: outputs, input: input, rounds: repeats, [
            { f32.apply(rows: rows, input: $0, output: $1, accumulate: false) },
            { bf16.apply(rows: rows, input: $0, output: $1, accumulate: false) },
        ])
        return times[0] / times[1]
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
