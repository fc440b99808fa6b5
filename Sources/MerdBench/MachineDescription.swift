import Foundation
import NeuralKit

/// The line every benchmark prints first (../shared/PERF.md): machines of this kind differ in
/// CPU, so a number means nothing without the CPU model, the instruction sets that matter to
/// the kernels (AVX2, AVX-512, its BF16 extension, AMX) and the kernel family OpenBLAS runs.
package struct MachineDescription: Sendable, Equatable, CustomStringConvertible {
    package let cpuModel: String
    /// The CPU's vector extensions the kernels can use, as /proc/cpuinfo names them.
    package let vectorExtensions: [String]
    package let blasKernel: String
    package let cores: Int

    /// The extensions reported, in order of width.
    static let reported = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"]

    package static func current(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> MachineDescription {
        let lines = cpuinfo?.split(separator: "\n") ?? []
        func field(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        return MachineDescription(cpuModel: field("model name") ?? "unknown CPU", vectorExtensions: reported.filter(flags.contains),
                                  blasKernel: BLAS.coreName, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    package var description: String {
        "machine: \(cpuModel), \(cores) cores; ISA \(vectorExtensions.isEmpty ? "no AVX2" : vectorExtensions.joined(separator: " ")); OpenBLAS kernels \(blasKernel)"
    }
}
