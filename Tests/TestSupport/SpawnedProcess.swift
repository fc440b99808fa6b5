import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server program a test starts and stops by signal (Mosquitto): spawned with no signal
/// blocked. Foundation's `Process` spawns from the calling thread with its signal mask, and a
/// test runs on a thread that blocks them all, so a child that restores "the mask it started
/// with" around its poll (Mosquitto does) would never see SIGTERM.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with `arguments`, stdout and stderr appended to `log` (or discarded),
    /// and the parent's descriptors `descriptors[n]` as the child's `n` (Chromium's
    /// `--remote-debugging-pipe` talks on 3 and 4), in `environment` (nil: this process's).
    public init(_ executable: String, _ arguments: [String], log: String? = nil, descriptors: [Int32: Int32] = [:],
                environment: [String: String]? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let output = log ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (child, parent) in descriptors.sorted(by: { $0.key < $1.key }) { posix_spawn_file_actions_adddup2(&actions, parent, child) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let code = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EINVAL) }
        self.pid = pid
    }

    public var isRunning: Bool {
        guard status == nil else { return false }
        var code: Int32 = 0
        if waitpid(pid, &code, WNOHANG) == pid { status = code }
        return status == nil
    }

    /// Sends `signal` and waits for the process to end (at most `seconds`, then SIGKILL).
    public func stop(_ signal: Int32 = SIGTERM, seconds: Double = 5) {
        guard isRunning else { return }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(10_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var code: Int32 = 0
            waitpid(pid, &code, 0)
            status = code
        }
    }

    deinit { stop(SIGKILL) }
}
