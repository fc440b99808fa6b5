import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bridge's one stored fact: the last `seq` the broker acknowledged, in a small JSON file
/// (`{"seq": 1234}`) replaced whole on each write, so a crash leaves the old or the new.
enum BridgeState {
    struct Stored: Codable {
        let seq: Int
    }

    /// The stored seq, or nil when there is no file yet.
    /// - Throws: `BridgeOptionError` when the file is there but not the bridge's.
    static func load(_ path: String) throws -> Int? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), let stored = try? JSONDecoder().decode(Stored.self, from: data), stored.seq >= 0 else {
            throw BridgeOptionError("\(path): not the bridge's state file ({\"seq\": N}); remove it to bridge live events from now on, or give --since SEQ")
        }
        return stored.seq
    }

    /// Writes a temporary file beside `path` and renames it over `path`: rename(2) replaces
    /// atomically, so a kill at any moment leaves the old file or the new. Not flushed to disk
    /// (written after every acknowledgement, an fsync each would cost more than the event): a
    /// process that dies leaves it in the page cache; only a power cut may lose the latest
    /// writes, and then events are sent again, never lost.
    static func save(_ seq: Int, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let temporary = path + ".tmp"
        let bytes = Array(#"{"seq":\#(seq)}"#.utf8) + [10]
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}
