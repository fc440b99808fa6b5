import CNeuralKernels
import Dispatch
import Locking
import MediaTypes

/// What this CPU's multiply-add instructions reach on the benchmark's threads, with no memory
/// traffic, no packing and no scheduling in the way: the ceiling any product of that precision
/// has here. Printed beside the products' own rates, it says what an aim needs. On an Intel
/// Xeon with AVX512_BF16 and no AMX, BF16's dot products (`vdpbf16ps`) reach half the F32
/// FMAs' rate, so no BF16 kernel there can outrun F32, whatever library writes it (on AMD Zen 4
/// and 5, oneDNN's BF16 products ran at about twice F32's rate; Benchmarks/RESULTS.md).
package struct InstructionPeak: Sendable, Equatable, CustomStringConvertible {
    package let threads: Int
    /// Width in bits of the F32 FMAs timed (512 or 256); 0 where the CPU has no FMA.
    package let f32Width: Int
    /// GFLOP/s of F32 FMAs on all `threads` together; nil without FMA.
    package let f32GigaFLOPs: Double?
    /// GFLOP/s of AVX512_BF16's dot products (4 operations per F32 lane); nil without them.
    package let bf16GigaFLOPs: Double?

    /// Rounds per timed loop: each lane's sum (1 or 2 per round) stays under 2^24, where F32
    /// still counts in ones (vdpbf16ps adds its two products one at a time, rounding each), so
    /// the checksum proves every round ran. About 15 ms of F32 FMAs at 3 GHz.
    static let iterations: UInt32 = 8_000_000

    /// The best of `repeats` timings of each instruction, `threads` loops at once.
    package static func measure(threads: Int, repeats: Int = 3) -> InstructionPeak {
        precondition(threads > 0 && repeats > 0, "threads and repeats must be positive")
        let width = Int(nk_peak_f32_width())
        let f32 = width == 0 ? nil : best(of: repeats, threads: threads, lanes: width / 32, perLane: 1) { nk_peak_f32_fma($0) }
        let bf16 = nk_peak_has_bf16() == 0 ? nil : best(of: repeats, threads: threads, lanes: 16, perLane: 2) { nk_peak_bf16_dot($0) }
        return InstructionPeak(threads: threads, f32Width: width, f32GigaFLOPs: f32, bf16GigaFLOPs: bf16)
    }

    /// GFLOP/s of `threads` simultaneous loops: their operations over the slowest one's time.
    /// Each loop's checksum must be 12 accumulators × `lanes` × `perLane` × the rounds.
    private static func best(of repeats: Int, threads: Int, lanes: Int, perLane: Double,
                             _ loop: @escaping @Sendable (UInt32) -> nk_peak_result) -> Double {
        let expected = 12 * Double(lanes) * perLane * Double(iterations)
        var best = 0.0
        for _ in 0..<repeats {
            let results = Locked([(operations: UInt64, seconds: Double)]())
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                let start = ContinuousClock.now
                let result = loop(iterations)
                let seconds = (ContinuousClock.now - start).seconds
                precondition(result.checksum == expected, "instruction peak: checksum \(result.checksum), expected \(expected): the loop did not run as written")
                results.withLock { $0.append((result.operations, seconds)) }
            }
            let all = results.withLock { $0 }
            let operations = all.reduce(0) { $0 + Double($1.operations) }
            let slowest = all.map(\.seconds).max() ?? .infinity
            best = max(best, operations / slowest / 1e9)
        }
        return best
    }

    package var description: String {
        let f32 = f32GigaFLOPs.map { String(format: "F32 FMA (%d-bit) %.0f GFLOP/s", f32Width, $0) } ?? "F32 FMA: none on this CPU"
        var bf16 = "BF16 dot products (vdpbf16ps): none on this CPU"
        if let rate = bf16GigaFLOPs {
            bf16 = String(format: "BF16 dot products (vdpbf16ps) %.0f GFLOP/s", rate)
            if let f32 = f32GigaFLOPs { bf16 += String(format: ", %.2f× F32", rate / f32) }
        }
        return "instruction peak, \(threads) thread\(threads == 1 ? "" : "s"), registers only: \(f32); \(bf16)"
    }
}
