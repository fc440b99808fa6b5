#if canImport(Glibc)
import Glibc
#endif

/// Makes oneDNN's OpenMP workers sleep, not spin, between parallel regions.
///
/// GNU OpenMP spins idle workers by default; when the compute threads share their cores with
/// anything else (the engine's other stage, another process), a spinning worker holds a core
/// the thread it waits for needs, and oneDNN's products collapse: `merd bench gemm --threads 2`
/// with one of the 2 cores busy elsewhere, [48, 1024]·[1024, 1024]: 13 GFLOP/s by default,
/// 115 with `OMP_WAIT_POLICY=passive` (OpenBLAS 88 either way); [200, 4096]·… BF16: 26 → 223.
/// libgomp reads the policy once, as the process loads and before `main`, so setting it here
/// takes a fresh image of the process: merd re-executes itself once, the same arguments and
/// PID, unless the environment already names a policy (an operator's choice is kept).
enum OpenMPWaitPolicy {
    static func ensurePassive() {
        guard getenv("OMP_WAIT_POLICY") == nil else { return }
        setenv("OMP_WAIT_POLICY", "passive", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): run on with libgomp's spinning default.
    }
}
