@testable import EventHistory
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Event history (SQLite)")
struct EventHistoryTests {
    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "merd-history-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// An event line like the daemon's, `padding` characters longer.
    static func event(_ seq: Int, type: String = "face", at time: Date = Date(), padding: Int = 0) -> StoredEvent {
        let line = #"{"type":"\#(type)","seq":\#(seq),"detail":"\#(String(repeating: "x", count: padding))"}"#
        return StoredEvent(seq: seq, run: "run-a", type: type, time: time, line: line)
    }

    @Test("events go in and come back in seq order, by seq, time and type; seq continues after a reopen, and after retention deleted every event")
    func roundTrip() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/nested/history.sqlite"
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let history = try EventHistory(path: path, retention: HistoryRetention(keepDays: nil, maxBytes: nil), now: start)
            #expect(try history.lastSeq() == 0)
            for seq in 1...30 {
                try history.append(Self.event(seq, type: seq % 3 == 0 ? "utterance" : "face", at: start.addingTimeInterval(Double(seq))))
            }
            #expect(try history.lastSeq() == 30)
            let batch = try history.replay(after: 10, types: ["utterance"], limit: 100)
            #expect(batch.events.map(\.seq) == [12, 15, 18, 21, 24, 27, 30])
            #expect(batch.through == 30 && batch.oldest == 1)
            let full = try history.replay(after: 0, types: nil, limit: 5)
            #expect(full.events.map(\.seq) == [1, 2, 3, 4, 5] && full.through == 5, "a full batch covers up to its last event")
            let window = try history.events(HistoryQuery(from: start.addingTimeInterval(5), until: start.addingTimeInterval(9)), limit: 100)
            #expect(window.map(\.seq) == [5, 6, 7, 8])
            #expect(window.first?.line == Self.event(5).line && window.first?.run == "run-a")
        }
        // Reopened (the daemon restarted): numbering goes on from the last seq.
        do {
            let history = try EventHistory(path: path, retention: HistoryRetention(keepDays: nil, maxBytes: nil), now: start)
            #expect(try history.lastSeq() == 30)
            #expect(try history.extent().count == 30)
        }
        // A year later every event is past keep_days: all go, yet seq still continues.
        let later = start.addingTimeInterval(365 * 86_400)
        let history = try EventHistory(path: path, retention: HistoryRetention(keepDays: 30, maxBytes: nil), now: later)
        #expect(try history.extent().count == 0)
        #expect(try history.lastSeq() == 30)
        #expect(history.deletedCount == 30)
    }

    @Test("keep_days: events older than the limit go once a minute of event time has passed; newer ones stay")
    func age() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let history = try EventHistory(path: folder + "/h.sqlite", retention: HistoryRetention(keepDays: 1, maxBytes: nil), now: start)
        // One event an hour for two days.
        for hour in 0..<48 { try history.append(Self.event(hour + 1, at: start.addingTimeInterval(Double(hour) * 3600))) }
        let extent = try history.extent()
        // At hour 47 the oldest kept is at most a day old: hour 23 onwards (its check ran at the
        // append of hour 47, whose cut-off is hour 23).
        #expect(extent.oldest == 24 && extent.newest == 48, "\(extent)")
    }

    @Test("max_mb: a history filled to ten times its limit stays under it on disk (database, log and index), and keeps the newest events")
    func size() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let limit = 1 << 20
        let history = try EventHistory(path: folder + "/h.sqlite", retention: HistoryRetention(keepDays: nil, maxBytes: limit))
        var largest = 0
        let count = 10_000  // ~1 KB each: ~10 MB written
        for seq in 1...count {
            try history.append(Self.event(seq, padding: 1000))
            if seq % 100 == 0 { largest = max(largest, history.bytesOnDisk()) }
        }
        let extent = try history.extent()
        #expect(largest <= limit, "largest on disk \(largest) bytes, limit \(limit)")
        #expect(extent.newest == count, "the newest event is kept")
        #expect(extent.count > 300 && extent.oldest == count - extent.count + 1, "the newest \(extent.count) are kept, without a gap")
        #expect(history.deletedCount == count - extent.count)
    }

    @Test("one writer: a second daemon on the same file is refused and says so; a reader opens it while the writer writes")
    func oneWriter() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/h.sqlite"
        let writer = try EventHistory(path: path)
        try writer.append(Self.event(1))
        #expect(throws: HistoryError.inUse(path: path)) { try EventHistory(path: path) }
        let reader = try EventHistory(readingAt: path)
        try writer.append(Self.event(2))
        #expect(try reader.events(HistoryQuery(), limit: 10).map(\.seq) == [1, 2])
        #expect(throws: HistoryError.self) { try reader.append(Self.event(3)) }
        #expect(HistoryError.inUse(path: path).description.contains("another merd is writing this history"))
    }

    @Test("a file that is not a merd history, a folder that cannot be made, a history that is not there: each a clear error, nothing overwritten")
    func badFiles() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Not SQLite at all.
        let text = folder + "/notes.sqlite"
        try "these are my notes\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect { try EventHistory(path: text) } throws: { error in
            guard case .unreadable(_, let reason) = error as? HistoryError else { return false }
            return !reason.isEmpty
        }
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "these are my notes\n", "left as it was")
        // Another program's SQLite database.
        let other = folder + "/other.sqlite"
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [other, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);"]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect { try EventHistory(path: other) } throws: { error in
            guard case .unreadable(_, let reason) = error as? HistoryError else { return false }
            return reason.contains("invoices")
        }
        #expect { try EventHistory(readingAt: other) } throws: { error in
            guard case .unreadable = error as? HistoryError else { return false }
            return true
        }
        // A truncated history: SQLite's header cut in half.
        let broken = folder + "/broken.sqlite"
        do {
            let history = try EventHistory(path: broken)
            try history.append(Self.event(1))
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: broken))
        try handle.truncate(atOffset: 50)
        try handle.close()
        try? FileManager.default.removeItem(atPath: broken + "-wal")
        #expect { try EventHistory(path: broken) } throws: { error in
            guard case .unreadable = error as? HistoryError else { return false }
            return true
        }
        // Missing for reading; unmakeable for writing (a file stands where a folder must be).
        #expect { try EventHistory(readingAt: folder + "/none.sqlite") } throws: { error in
            guard case .unavailable(_, let reason) = error as? HistoryError else { return false }
            return reason.contains("no such file")
        }
        #expect { try EventHistory(path: text + "/h.sqlite") } throws: { error in
            guard case .unavailable = error as? HistoryError else { return false }
            return true
        }
    }
}
