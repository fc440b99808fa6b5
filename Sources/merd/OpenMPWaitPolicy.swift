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
///
/// OpenBLAS's workers have the same habit: after each call they spin on `sched_yield` for
/// 2²⁸ cycles before sleeping, read as `OPENBLAS_THREAD_TIMEOUT` when OpenBLAS loads. Where
/// an OpenBLAS call comes between oneDNN's products (a model on the other backend, the
/// fusion head), a spinning worker took one of 2 cores from oneDNN's team: `merd bench
/// gemm`, oneDNN F32 right after the OpenBLAS row, [200, 1024]·[1024, 1024] 108 GFLOP/s,
/// 223 with the timeout at its minimum (2⁴ cycles); HuBERT-large on OpenBLAS itself was not
/// slower by it (10 s: 2339 ms before, 2357 after). So the same re-execution sets both.
enum OpenMPWaitPolicy {
    static func ensurePassive() {
        var changed = false
        if getenv("OMP_WAIT_POLICY") == nil {
            setenv("OMP_WAIT_POLICY", "passive", 1)
            changed = true
        }
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
            changed = true
        }
        guard changed else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): run on with the libraries' spinning defaults.
    }
}
