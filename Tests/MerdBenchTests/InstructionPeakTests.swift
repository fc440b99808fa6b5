import CNeuralKernels
@testable import MerdBench
import Testing

@Suite("instruction peak")
struct InstructionPeakTests {
    @Test("each loop does the operations it counts: every accumulator lane ends at its rounds times its increment")
    func loopsRunAsCounted() {
        let machine = MachineDescription.current()
        let width = Int(nk_peak_f32_width())
        #expect(width == (machine.vectorExtensions.contains("avx512f") ? 512 : machine.vectorExtensions.contains("fma") ? 256 : 0))
        let rounds: UInt32 = 1000
        let f32 = nk_peak_f32_fma(rounds)
        let lanes = width / 32
        #expect(f32.operations == UInt64(rounds) * 12 * UInt64(lanes) * 2)
        #expect(f32.checksum == Double(12 * lanes) * Double(rounds))
        let bf16 = nk_peak_bf16_dot(rounds)
        #expect((nk_peak_has_bf16() != 0) == machine.vectorExtensions.contains("avx512_bf16"))
        if nk_peak_has_bf16() != 0 {
            #expect(bf16.operations == UInt64(rounds) * 12 * 16 * 4)
            #expect(bf16.checksum == Double(12 * 16 * 2) * Double(rounds))
        } else {
            #expect(bf16.operations == 0 && bf16.checksum == 0)
        }
    }

    @Test("this machine: a positive F32 rate, and a BF16 one exactly where the CPU has AVX512_BF16")
    func thisMachine() {
        let peak = InstructionPeak.measure(threads: 1, repeats: 1)
        let machine = MachineDescription.current()
        #expect(peak.threads == 1)
        if machine.vectorExtensions.contains("fma") {
            #expect(peak.f32GigaFLOPs.map { $0.isFinite && $0 > 0 } == true)
        } else {
            #expect(peak.f32GigaFLOPs == nil)
        }
        #expect((peak.bf16GigaFLOPs != nil) == machine.vectorExtensions.contains("avx512_bf16"))
        if let rate = peak.bf16GigaFLOPs { #expect(rate.isFinite && rate > 0) }
    }

    @Test("the line names the width, both rates and BF16's share of F32, or says which is missing")
    func line() {
        let both = InstructionPeak(threads: 2, f32Width: 512, f32GigaFLOPs: 270, bf16GigaFLOPs: 135)
        #expect(both.description == "instruction peak, 2 threads, registers only: F32 FMA (512-bit) 270 GFLOP/s; BF16 dot products (vdpbf16ps) 135 GFLOP/s, 0.50× F32")
        let avx2 = InstructionPeak(threads: 1, f32Width: 256, f32GigaFLOPs: 98, bf16GigaFLOPs: nil)
        #expect(avx2.description == "instruction peak, 1 thread, registers only: F32 FMA (256-bit) 98 GFLOP/s; BF16 dot products (vdpbf16ps): none on this CPU")
        let none = InstructionPeak(threads: 1, f32Width: 0, f32GigaFLOPs: nil, bf16GigaFLOPs: nil)
        #expect(none.description.contains("F32 FMA: none on this CPU"))
    }
}
