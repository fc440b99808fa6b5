@testable import MerdBench
import Testing

@Suite("machine description")
struct MachineDescriptionTests {
    @Test("the CPU model and the vector extensions the kernels use come from cpuinfo")
    func parsesCPUInfo() {
        let cpuinfo = """
            processor\t: 0
            model name\t: AMD EPYC 9R14
            flags\t\t: fpu sse2 avx avx2 fma avx512f avx512_bf16 avx512_vnni
            """
        let machine = MachineDescription.current(cpuinfo: cpuinfo)
        #expect(machine.cpuModel == "AMD EPYC 9R14")
        #expect(machine.vectorExtensions == ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"])
        #expect(machine.description.hasPrefix("machine: AMD EPYC 9R14, "))
        #expect(MachineDescription.current(cpuinfo: nil).cpuModel == "unknown CPU")
    }

    @Test("this machine's line names a CPU and OpenBLAS's kernel")
    func thisMachine() {
        let machine = MachineDescription.current()
        #expect(machine.cpuModel != "unknown CPU" && !machine.blasKernel.isEmpty && machine.cores > 0)
    }
}
