import Testing
@testable import NeuralKit

@Suite("BF16's speed against F32, measured at start")
struct BF16SpeedProbeTests {
    @Test("the probe measures a finite, positive ratio where the CPU runs BF16", .enabled(if: ComputePrecision.bf16Available))
    func measures() throws {
        let speedup = try ComputeThreads.withOpenMPThreads(1) { try BF16SpeedProbe.speedup(repeats: 3) }
        // Seen: 0.5–0.8 on an Intel Xeon without AMX, 1.9 at this shape on AMD Zen 4;
        // anything outside this range would be a broken measurement, not a CPU.
        #expect(speedup.isFinite && speedup > 0.05 && speedup < 50, "\(speedup)")
    }

    @Test("a warning, naming the ratio and the way back to f32, only where BF16 is slower")
    func warning() {
        #expect(BF16SpeedProbe.warning(speedup: 1.0) == nil)
        #expect(BF16SpeedProbe.warning(speedup: 2.3) == nil)
        let text = BF16SpeedProbe.warning(speedup: 0.614)
        #expect(text?.contains("0.61× f32's speed") == true, "\(text ?? "nil")")
        #expect(text?.contains("precision = \"f32\"") == true)
    }
}
