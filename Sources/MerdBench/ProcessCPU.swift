#if canImport(Glibc)
import Glibc
#endif

/// The CPU time the whole process has used (every thread, user and system), for benchmarks that
/// report a share of a core rather than wall time: with compute threads, wall time under-counts.
package enum ProcessCPU {
    package static var seconds: Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
