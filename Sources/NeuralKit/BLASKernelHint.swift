import Foundation

/// Says when OpenBLAS runs kernels far older than the CPU. Debian's OpenBLAS 0.3.21 does not
/// know some recent CPUs and falls back to its generic SSE kernels: on an Intel Xeon with
/// AVX-512 it picked `Prescott`, whose products ran at 29–64 GFLOP/s on 2 threads, against
/// 45–257 with `OPENBLAS_CORETYPE=SkylakeX` (Benchmarks/RESULTS.md); Silero VAD, which runs on
/// OpenBLAS, took 4.8–6.7 ms a second of audio there, 1.3 ms on an AMD Zen 4 that OpenBLAS
/// knows. Nothing else tells the user, who can pin a kernel family that fits.
public enum BLASKernelHint {
    /// OpenBLAS's kernel families that use no AVX: what it falls back to for a CPU it does not know.
    static let genericFamilies: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                                               "Katmai", "Coppermine", "Northwood", "Banias", "Opteron", "Opteron_SSE3", "Barcelona"]

    /// The hint for this process, or nil when the kernels fit the CPU or `OPENBLAS_CORETYPE`
    /// was set (a choice someone made on purpose, which merd leaves alone).
    public static var current: String? {
        hint(coreName: BLAS.coreName, flags: CPUFlags.current, modelName: CPUFlags.modelName,
             coreTypeSet: !(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "").isEmpty)
    }

    /// The rule: a generic family on a CPU with AVX2 or AVX-512 gets the family that fits
    /// (SkylakeX's AVX-512 kernels, else Haswell's AVX2 ones).
    static func hint(coreName: String, flags: Set<String>, modelName: String, coreTypeSet: Bool) -> String? {
        guard !coreTypeSet, genericFamilies.contains(coreName) else { return nil }
        let fitting: (family: String, isa: String)
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
            fitting = ("SkylakeX", "AVX-512")
        } else if flags.contains("avx2") && flags.contains("fma") {
            fitting = ("Haswell", "AVX2")
        } else {
            return nil
        }
        return "OpenBLAS runs its generic \(coreName) kernels on this CPU (\(modelName)), which has \(fitting.isa): "
            + "set OPENBLAS_CORETYPE=\(fitting.family) in merd's environment (Environment= in the systemd unit) "
            + "for its \(fitting.family) kernels; OpenBLAS runs Silero VAD and the openblas backend"
    }
}
