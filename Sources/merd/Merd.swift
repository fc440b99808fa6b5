import ArgumentParser
import CSystemShims
import Logging
import MerdDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The `merd` command: the daemon and its tools, one subcommand per task (../CLI.md).
@main
struct Merd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merd",
        abstract: "Multimodal emotion recognition daemon: webcam + microphone → emotion and valence events.",
        discussion: """
            Exit status: 0 on success, 1 on a runtime error, 2 on a usage error (bad flag, bad \
            config, missing model).
            """,
        version: MerdVersion.string,
        subcommands: [Run.self, Analyze.self, Subscribe.self, History.self, Metrics.self, Bridge.self, Dashboard.self, Models.self, Features.self, Segment.self, Faces.self, Probe.self, Devices.self, Dataset.self, Train.self, Eval.self, Predict.self, Bench.self])

    /// Parses and runs, with the exit statuses the CLI contract promises: swift-argument-parser
    /// would exit 64 on a usage error, merd's users script against 2.
    static func main() async {
        OpenMPWaitPolicy.ensurePassive()
        MemoryPolicy.apply()
        LoggingSystem.bootstrap { _ in JournalLogHandler(level: .info) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            writeError("merd: \(failure.message)")
            Glibc.exit(failure.status.rawValue)
        } catch let failure as ModelStoreError {
            writeError("merd: \(failure.description)")
            Glibc.exit(ExitStatus.usage.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help, --version: print and exit 0
            }
            writeError(fullMessage(for: error))
            Glibc.exit(code == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.runtime.rawValue)
        }
    }
}

/// The exit statuses of every merd command.
enum ExitStatus: Int32 {
    case success = 0
    /// Something failed while running (a device, a corrupt file).
    case runtime = 1
    /// The command was asked for wrongly: a bad flag or config, a missing model.
    case usage = 2
}

/// An error a command reports as one line on stderr, with the exit status it implies.
struct CommandFailure: Error {
    let message: String
    let status: ExitStatus

    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, status: .usage) }
    static func runtime(_ message: String) -> CommandFailure { CommandFailure(message: message, status: .runtime) }
}

/// How the process asks glibc to manage memory.
enum MemoryPolicy {
    /// Keeps freed blocks of up to 512 MiB in the heap instead of returning them to the
    /// kernel. merd allocates the same large activation buffers for every utterance; with
    /// glibc's defaults each would be a fresh mmap whose pages the kernel zeroes again
    /// (measured: 14 % of HuBERT's time went to page clearing). The peak stays what it was.
    static func apply() {
        _ = merd_malloc_keep_freed(512 << 20, 1 << 30)
    }
}
