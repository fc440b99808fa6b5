#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error (unbuffered, so it is never lost at exit).
public func writeError(_ line: String) {
    writeLine(line, to: STDERR_FILENO)
}

/// Writes one line straight to a descriptor: machine output (JSON Lines) reaches a pipe
/// line by line, as it happens, not when a buffer fills.
public func writeLine(_ line: String, to descriptor: Int32 = STDOUT_FILENO) {
    var text = line
    if !text.hasSuffix("\n") { text += "\n" }
    text.withUTF8 { bytes in
        var rest = UnsafeRawBufferPointer(bytes)
        while !rest.isEmpty {
            let written = write(descriptor, rest.baseAddress, rest.count)
            if written <= 0 { return }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }
}

