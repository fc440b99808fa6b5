import Foundation
import Logging

/// swift-log's handler for merd: one line per message on standard error. Under systemd
/// (`JOURNAL_STREAM` set), each line starts with its syslog priority (`<6>`), which journald
/// reads as the entry's level and strips; it adds the time and unit itself. On a terminal the
/// line reads `merd: warning: …`.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let journal: Bool

    public init(level: Logger.Level, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a level (sd-daemon(3)).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let suffix = fields.isEmpty ? "" : " " + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(event.message)\(suffix)".replacingOccurrences(of: "\n", with: " ")
        if journal {
            writeError("<\(Self.priority(event.level))>\(text)")
        } else {
            let label = event.level >= .warning ? "\(event.level): " : ""
            writeError("merd: \(label)\(text)")
        }
    }
}
