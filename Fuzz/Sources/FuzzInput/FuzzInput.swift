#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): it parses libFuzzer's flags
/// and calls the harness for each input. Each harness's main.swift calls ``FuzzInput/run(_:)``
/// (SwiftPM gives executables their own entry point, so libFuzzer's main() cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ harness: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The fuzzer's input as a file the readers can open and map: one file in /dev/shm (memory, not
/// disk) per process, rewritten for each input and removed at exit.
public enum FuzzInput {
    /// Runs libFuzzer with this process's arguments over `harness` (which returns 0), then exits.
    public static func run(_ harness: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        atexit { unlink(FuzzInput.path) }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(runDriver(&argc, &argv, harness))
    }

    static let path = "/dev/shm/merd-fuzz-\(getpid())"

    /// Calls `body` with the path of a file holding `size` bytes at `data`.
    public static func withFile(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: (String) -> Void) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fatalError("cannot create \(path)") }
        var written = 0
        while written < size {
            let count = write(descriptor, data + written, size - written)
            guard count > 0 else { fatalError("write to \(path) failed") }
            written += count
        }
        close(descriptor)
        body(path)
    }
}
