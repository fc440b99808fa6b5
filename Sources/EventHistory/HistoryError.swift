/// Why the history cannot be opened, written or read; each says what to do.
public enum HistoryError: Error, Equatable, CustomStringConvertible {
    /// Another process (a second `merd run`) holds the history.
    case inUse(path: String)
    /// The file is missing (reading) or cannot be made (writing).
    case unavailable(path: String, reason: String)
    /// The file is not a merd history, or SQLite reports it damaged.
    case unreadable(path: String, reason: String)
    /// A write failed (disk full, read-only file system).
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .inUse(let path):
            return "\(path): another merd is writing this history (is `merd run` already running?); give each daemon its own history.path"
        case .unavailable(let path, let reason):
            return "\(path): cannot open the history (\(reason)); set history.path to a writable file, or \"\" to keep none"
        case .unreadable(let path, let reason):
            return "\(path): not a readable merd history (\(reason)); move it aside and merd starts a new one"
        case .writeFailed(let path, let reason):
            return "\(path): cannot store events (\(reason)); they are still sent live, but not kept"
        }
    }
}
