import Locking
import Logging

/// A log handler that keeps every message, for tests that check what merd says.
public struct RecordingLogHandler: LogHandler {
    /// The messages logged through every handler made from one store.
    public final class Store: Sendable {
        private let lines = Locked<[(level: Logger.Level, message: String)]>([])
        public init() {}
        public var messages: [String] { lines.withLock { $0.map(\.message) } }
        func append(_ level: Logger.Level, _ message: String) { lines.withLock { $0.append((level, message)) } }
    }

    public let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(store: Store) { self.store = store }

    /// A logger whose messages land in `store`.
    public static func logger(_ store: Store, label: String = "test") -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(store: store) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        store.append(event.level, "\(event.message)")
    }
}
