import Foundation
import Testing
@testable import NeuralKit

@Suite("A hint when OpenBLAS runs kernels older than the CPU")
struct BLASKernelHintTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]

    @Test("generic SSE kernels on an AVX-512 CPU: SkylakeX's; on an AVX2 one: Haswell's")
    func generic() {
        let onXeon = BLASKernelHint.hint(coreName: "Prescott", flags: Self.avx512, modelName: "Intel(R) Xeon(R) Processor", coreTypeSet: false)
        #expect(onXeon?.contains("OPENBLAS_CORETYPE=SkylakeX") == true, "\(onXeon ?? "nil")")
        #expect(onXeon?.contains("Prescott") == true && onXeon?.contains("Intel(R) Xeon(R) Processor") == true)
        let onAVX2 = BLASKernelHint.hint(coreName: "Nehalem", flags: ["sse3", "avx", "avx2", "fma"], modelName: "x", coreTypeSet: false)
        #expect(onAVX2?.contains("OPENBLAS_CORETYPE=Haswell") == true, "\(onAVX2 ?? "nil")")
    }

    @Test("no hint where the kernels fit, where the CPU has nothing better, or where OPENBLAS_CORETYPE was set")
    func silent() {
        #expect(BLASKernelHint.hint(coreName: "Haswell", flags: Self.avx512, modelName: "x", coreTypeSet: false) == nil)
        #expect(BLASKernelHint.hint(coreName: "Cooperlake", flags: Self.avx512, modelName: "x", coreTypeSet: false) == nil)
        #expect(BLASKernelHint.hint(coreName: "Prescott", flags: ["sse3", "ssse3"], modelName: "x", coreTypeSet: false) == nil)
        #expect(BLASKernelHint.hint(coreName: "Prescott", flags: Self.avx512, modelName: "x", coreTypeSet: true) == nil)
    }

    @Test("this process: a hint exactly when its kernels are a generic family on a CPU with AVX2")
    func thisProcess() {
        let generic = BLASKernelHint.genericFamilies.contains(BLAS.coreName)
        let capable = CPUFlags.current.contains("avx2") && CPUFlags.current.contains("fma")
        let pinned = !(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "").isEmpty
        #expect((BLASKernelHint.current != nil) == (generic && capable && !pinned), "\(BLAS.coreName)")
    }
}
