import Foundation
import GRDB
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Every event the daemon emits, kept in one SQLite database (WAL mode) so that a subscriber
/// that reconnects can ask for what it missed (`since`), `merd history` can read it later,
/// and `seq` continues across restarts.
///
/// One daemon writes a history (it holds an exclusive `flock` on the file; a second one is
/// refused); any number of processes read it. Events are appended as they are emitted, before
/// they are sent, so a replay never misses an event a live subscriber got. After each append
/// the size is checked against ``HistoryRetention`` (two page counts, microseconds) and, once
/// a minute, the age: the oldest events go first.
public final class EventHistory: Sendable {
    public let path: String
    public let retention: HistoryRetention
    private let database: any DatabaseWriter
    private let lockDescriptor: Int32
    private let checks = Locked<Checks>(Checks())

    private struct Checks {
        var lastAgeCheck = Date.distantPast
        var deleted = 0
    }

    /// Opens (or creates, with its folder) the history at `path` for writing.
    /// - Throws: `inUse` when another process writes it, `unreadable` when the file is not a
    ///   merd history, `unavailable` when it cannot be made.
    public init(path: String, retention: HistoryRetention = HistoryRetention(), now: Date = Date()) throws(HistoryError) {
        self.path = path
        self.retention = retention
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw .unavailable(path: path, reason: "cannot make \(folder): \(error.localizedDescription)")
            }
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .unavailable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw code == EWOULDBLOCK ? .inUse(path: path) : .unavailable(path: path, reason: String(cString: strerror(code)))
        }
        lockDescriptor = descriptor
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            configuration.label = "merd.history"
            let logAllowance = retention.logAllowance
            configuration.prepareDatabase { db in
                // NORMAL: an event is durable once the log is checkpointed; a power cut may
                // lose the last few, never corrupt the file (WAL's guarantee).
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                if let logAllowance {
                    try db.execute(sql: "PRAGMA journal_size_limit = \(logAllowance)")
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(max(16, logAllowance / 2 / 4096))")
                }
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrate(pool, path: path)
            database = pool
        } catch let error as HistoryError {
            Glibc.close(descriptor)
            throw error
        } catch {
            Glibc.close(descriptor)
            throw Self.classify(error, path: path)
        }
        try enforceRetention(now: now)
    }

    /// Opens an existing history to read only (`merd history`): no lock, no retention; the
    /// daemon may be writing it meanwhile.
    public init(readingAt path: String) throws(HistoryError) {
        self.path = path
        retention = HistoryRetention(keepDays: nil, maxBytes: nil)
        lockDescriptor = -1
        guard FileManager.default.fileExists(atPath: path) else {
            throw .unavailable(path: path, reason: "no such file; the daemon writes it once it runs with history on")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(5)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in
                guard try db.tableExists("event") else { throw HistoryError.unreadable(path: path, reason: "it has no event table") }
            }
            database = queue
        } catch let error as HistoryError {
            throw error
        } catch {
            throw Self.classify(error, path: path)
        }
    }

    deinit {
        if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
    }

    // MARK: Schema

    private static func migrate(_ pool: DatabasePool, path: String) throws {
        try pool.writeWithoutTransaction { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if tables.isEmpty {
                // Before the first table, or never: deleted pages are then given back to the
                // file system (`incremental_vacuum`) instead of staying in the file.
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            } else if !tables.contains("event") || !tables.contains("grdb_migrations") {
                throw HistoryError.unreadable(path: path, reason: "it holds other tables (\(tables.sorted().joined(separator: ", "))), not merd's")
            }
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // AUTOINCREMENT: sqlite_sequence remembers the highest seq ever stored, so `seq`
            // continues after retention has deleted every event.
            try db.execute(sql: """
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    run TEXT NOT NULL,
                    type TEXT NOT NULL,
                    time REAL NOT NULL,
                    line TEXT NOT NULL);
                CREATE INDEX event_time ON event(time);
                """)
        }
        try migrator.migrate(pool)
    }

    private static func classify(_ error: any Error, path: String) -> HistoryError {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                return .unreadable(path: path, reason: error.message ?? "\(error.resultCode)")
            default:
                return .unavailable(path: path, reason: error.message ?? "\(error.resultCode)")
            }
        }
        return .unavailable(path: path, reason: "\(error)")
    }

    // MARK: Writing

    /// The highest `seq` ever stored (0 for a new history): the daemon numbers on from it.
    public func lastSeq() throws(HistoryError) -> Int {
        try reading { db in try Int.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'event'") ?? 0 }
    }

    /// Stores `event`, then applies the retention limits.
    public func append(_ event: StoredEvent) throws(HistoryError) {
        do {
            try database.write { db in
                try db.execute(sql: "INSERT INTO event (seq, run, type, time, line) VALUES (?, ?, ?, ?, ?)",
                               arguments: [event.seq, event.run, event.type, event.time.timeIntervalSince1970, event.line])
            }
        } catch {
            throw .writeFailed(path: path, reason: (error as? DatabaseError)?.message ?? "\(error)")
        }
        try enforceRetention(now: event.time)
    }

    /// Events deleted by retention since the history was opened.
    public var deletedCount: Int { checks.withLock { $0.deleted } }

    /// Deletes events past their age (checked at most once a minute) and the oldest while the
    /// database holds more than its budget, then gives the freed pages back.
    func enforceRetention(now: Date) throws(HistoryError) {
        let ageDue = checks.withLock { checks in
            guard retention.keepDays != nil, now.timeIntervalSince(checks.lastAgeCheck) >= 60 else { return false }
            checks.lastAgeCheck = now
            return true
        }
        guard ageDue || retention.databaseBudget != nil else { return }
        do {
            let deleted = try database.writeWithoutTransaction { db -> Int in
                var deleted = 0
                if ageDue, let keepDays = retention.keepDays {
                    try db.execute(sql: "DELETE FROM event WHERE time < ?", arguments: [now.timeIntervalSince1970 - keepDays * 86400])
                    deleted += db.changesCount
                }
                if let budget = retention.databaseBudget {
                    deleted += try Self.trim(db, budget: budget)
                }
                if deleted > 0 {
                    try db.execute(sql: "PRAGMA incremental_vacuum")
                    // The file shrinks only when the log is copied back; a reader mid-replay
                    // may hold it, and then the next trim does it.
                    _ = try? db.checkpoint(.truncate)
                }
                return deleted
            }
            if deleted > 0 { checks.withLock { $0.deleted += deleted } }
        } catch {
            throw .writeFailed(path: path, reason: (error as? DatabaseError)?.message ?? "\(error)")
        }
    }

    /// While the pages in use pass 90 % of `budget`, deletes the oldest events down to 75 %
    /// (in steps estimated from the mean event's size).
    private static func trim(_ db: Database, budget: Int) throws -> Int {
        let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        func used() throws -> Int {
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            return (pages - free) * pageSize
        }
        var bytes = try used()
        guard bytes > budget * 9 / 10 else { return 0 }
        var deleted = 0
        for _ in 0..<8 where bytes > budget * 3 / 4 {
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0
            guard count > 1 else { break }
            let perEvent = max(1, bytes / count)
            let excess = (bytes - budget * 3 / 4 + perEvent - 1) / perEvent
            try db.execute(sql: "DELETE FROM event WHERE seq IN (SELECT seq FROM event ORDER BY seq LIMIT ?)",
                           arguments: [min(count - 1, max(1, excess))])
            deleted += db.changesCount
            bytes = try used()
        }
        return deleted
    }

    // MARK: Reading

    /// Up to `limit` events after `seq` of `types` (all when nil), in order, for a replay.
    public func replay(after seq: Int, types: Set<String>?, limit: Int) throws(HistoryError) -> ReplayBatch {
        try reading { db in
            var sql = "SELECT seq, line FROM event WHERE seq > ?"
            var arguments: StatementArguments = [seq]
            if let types {
                sql += " AND type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))"
                arguments += StatementArguments(types.sorted())
            }
            sql += " ORDER BY seq LIMIT ?"
            arguments += [limit]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map { (seq: $0["seq"] as Int, line: $0["line"] as String) }
            let bounds = try Row.fetchOne(db, sql: "SELECT MIN(seq) AS oldest, MAX(seq) AS newest FROM event")
            let newest: Int? = bounds?["newest"]
            let oldest: Int? = bounds?["oldest"]
            // A full batch covers up to its last event; a short one, everything stored so far.
            let through = rows.count == limit ? rows.last!.seq : max(seq, newest ?? seq)
            return ReplayBatch(events: rows, through: through, oldest: oldest)
        }
    }

    /// Stored events in `seq` order that match `query`, at most `limit` of them.
    public func events(_ query: HistoryQuery, limit: Int) throws(HistoryError) -> [StoredEvent] {
        try reading { db in
            var conditions = ["seq > ?"]
            var arguments: StatementArguments = [query.afterSeq]
            if let from = query.from {
                conditions.append("time >= ?")
                arguments += [from.timeIntervalSince1970]
            }
            if let until = query.until {
                conditions.append("time < ?")
                arguments += [until.timeIntervalSince1970]
            }
            if let types = query.types {
                conditions.append("type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))")
                arguments += StatementArguments(types.sorted())
            }
            arguments += [limit]
            let sql = "SELECT seq, run, type, time, line FROM event WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StoredEvent(seq: row["seq"], run: row["run"], type: row["type"],
                            time: Date(timeIntervalSince1970: row["time"]), line: row["line"])
            }
        }
    }

    /// The number of stored events, the oldest and newest `seq` (nil when empty).
    public func extent() throws(HistoryError) -> (count: Int, oldest: Int?, newest: Int?) {
        try reading { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS count, MIN(seq) AS oldest, MAX(seq) AS newest FROM event")
            return (row?["count"] ?? 0, row?["oldest"], row?["newest"])
        }
    }

    /// Bytes the history takes on disk: the database, its log and the log's index.
    public func bytesOnDisk() -> Int {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    private func reading<T>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do { return try database.read(body) } catch let error as HistoryError { throw error } catch {
            throw Self.classify(error, path: path)
        }
    }
}

/// What a replay reads at once: events after a `seq`, how far the read looked, and the oldest
/// event still kept (older ones were deleted by retention).
public struct ReplayBatch: Sendable {
    public var events: [(seq: Int, line: String)]
    /// Every stored event up to this `seq` was considered (the last event of a full batch,
    /// else the newest stored).
    public var through: Int
    public var oldest: Int?

    public init(events: [(seq: Int, line: String)], through: Int, oldest: Int?) {
        self.events = events
        self.through = through
        self.oldest = oldest
    }
}

/// Which stored events `merd history` reads.
public struct HistoryQuery: Sendable, Equatable {
    /// Events after this `seq` (0: from the oldest kept).
    public var afterSeq: Int
    public var from: Date?
    public var until: Date?
    /// Types to include (nil: all).
    public var types: Set<String>?

    public init(afterSeq: Int = 0, from: Date? = nil, until: Date? = nil, types: Set<String>? = nil) {
        self.afterSeq = afterSeq
        self.from = from
        self.until = until
        self.types = types
    }
}
