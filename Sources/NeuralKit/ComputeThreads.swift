import COneDNN
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread budget for both math libraries: OpenBLAS's pthreads and oneDNN's OpenMP team
/// get the same count, so they never both spin on the same cores.
///
/// - Important: how idle OpenMP workers wait is fixed when libgomp initialises, which happens
///   as the process loads (oneDNN links it), before any Swift code runs: `setenv` from merd is
///   too late, so the `merd` executable re-executes itself with `OMP_WAIT_POLICY=passive` when
///   no policy is set (`OpenMPWaitPolicy` there gives the measurements). GNU OpenMP's default
///   spins a worker after each parallel region before it sleeps; with a core busy elsewhere
///   that collapsed oneDNN's 2-thread products 7–30×. `summary` says which policy is in effect.
public enum ComputeThreads {
    /// The count `configure` last gave; 0 before it was called.
    private static let configured = Atomic<Int>(0)

    /// Gives OpenBLAS and oneDNN's OpenMP runtime `count` threads each (at least one): OpenBLAS
    /// for the process, OpenMP for the calling thread and, through `adopt`, every compute
    /// thread of merd's own.
    public static func configure(_ count: Int) {
        let count = max(1, count)
        configured.store(count, ordering: .relaxed)
        BLAS.threadCount = count
        omp_set_num_threads(Int32(count))
    }

    /// The count `configure` last gave (0: never configured, OpenMP's default applies).
    public static var budget: Int { configured.load(ordering: .relaxed) }

    /// Gives the calling thread's OpenMP team the count `configure` set. GNU OpenMP keeps the
    /// count per thread, and a thread it has not been set on (libdispatch's, the cooperative
    /// pool's) runs its parallel regions with one thread per core: with `--threads 1` the
    /// engine's HuBERT queue still ran its products on both cores of a 2-core machine, and on
    /// an N-core machine it would run them N wide whatever `[engine] threads` says. Every
    /// thread that runs products calls this first.
    /// - Parameter limit: at most this many (a stage whose products are too small to share);
    ///   before `configure`, only the limit applies.
    public static func adopt(atMost limit: Int = .max) {
        let count = min(budget > 0 ? budget : (limit == .max ? 0 : limit), limit)
        guard count > 0, omp_get_max_threads() != Int32(count) else { return }
        omp_set_num_threads(Int32(count))
    }

    /// Runs `body` with the calling thread's OpenMP team (oneDNN's calls from it) at `count`
    /// threads, then puts its count back: OpenMP keeps the count per thread, and a pool's
    /// thread serves other work afterwards.
    public static func withOpenMPThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        let previous = omp_get_max_threads()
        omp_set_num_threads(Int32(max(1, count)))
        defer { omp_set_num_threads(previous) }
        return try body()
    }

    /// Threads the calling thread's OpenMP parallel regions (oneDNN's) use.
    public static var openMPThreads: Int { Int(omp_get_max_threads()) }

    /// The wait policy GNU OpenMP read at start (`passive`, `active`, or its spinning default).
    public static var waitPolicy: String {
        if let policy = getenv("OMP_WAIT_POLICY") { return String(cString: policy).lowercased() }
        if let spin = getenv("GOMP_SPINCOUNT") { return "spin \(String(cString: spin))" }
        return "default (spin, then sleep)"
    }

    /// One line for benchmarks: both libraries' thread counts and OpenMP's wait policy.
    public static var summary: String {
        "OpenBLAS \(BLAS.threadCount) (\(BLAS.coreName), spin timeout \(openBLASTimeout)), oneDNN \(OneDNN.version) OpenMP \(budget > 0 ? budget : openMPThreads) on \(OneDNN.isaName), wait policy \(waitPolicy)"
    }

    /// How long OpenBLAS's idle workers spin before sleeping, as read at start.
    public static var openBLASTimeout: String {
        guard let value = getenv("OPENBLAS_THREAD_TIMEOUT") else { return "default 2^28 cycles" }
        return "2^\(String(cString: value)) cycles"
    }
}
