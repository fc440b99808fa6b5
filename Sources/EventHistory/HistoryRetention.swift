/// How much history is kept (`history.keep_days`, `history.max_mb`): events older than
/// `keepDays` go, and the oldest go while the database would pass `maxBytes`.
public struct HistoryRetention: Sendable, Equatable {
    /// Days an event is kept, or nil for no age limit.
    public var keepDays: Double?
    /// Bytes on disk the history may take, database and its write-ahead log together, or nil
    /// for no size limit.
    public var maxBytes: Int?

    public init(keepDays: Double? = 30, maxBytes: Int? = 512 << 20) {
        self.keepDays = keepDays
        self.maxBytes = maxBytes
    }

    /// The part of `maxBytes` the write-ahead log may use (a quarter, at most 4 MiB): the
    /// log is checkpointed at half of it and truncated back to it, so the database proper is
    /// kept within the rest.
    var logAllowance: Int? { maxBytes.map { min(4 << 20, $0 / 4) } }

    /// The bytes the database proper may hold: past this the oldest events are deleted.
    var databaseBudget: Int? {
        guard let maxBytes, let logAllowance else { return nil }
        // The shared-memory index (-shm) takes 32 KiB per 4 MiB of log.
        return maxBytes - logAllowance - 64 << 10
    }
}
