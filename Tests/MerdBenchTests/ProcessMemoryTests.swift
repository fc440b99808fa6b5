import MerdBench
import Testing

@Suite("Process memory and the GEMM peak")
struct ProcessMemoryTests {
    @Test("the resident set is positive and the peak is at least the current size")
    func resident() {
        // Touch 64 MiB so the process is surely above a few MiB resident.
        var block = [UInt8](repeating: 1, count: 64 << 20)
        block[block.count - 1] = 2
        let resident = ProcessMemory.residentMiB
        #expect(resident >= 64, "VmRSS \(resident) MiB with 64 MiB touched")
        #expect(ProcessMemory.peakResidentMiB >= resident)
        #expect(block[0] + block[block.count - 1] == 3)
    }

    @Test("the GEMM peak is a finite, positive rate")
    func gemmPeak() {
        let rate = GEMMPeak.measure(m: 8, n: 16, k: 8, repeats: 3)
        #expect(rate.isFinite && rate > 0, "\(rate) GFLOP/s")
    }
}
