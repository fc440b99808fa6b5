@testable import EventServer
import EventHistory
import Foundation
import Locking
import MerdEvents
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `since`: a subscriber that reconnects gets what it missed from the history, then live
/// events, every `seq` once.
@Suite("Events socket: resume from the history", .serialized)
struct ResumeTests {
    /// A server over a real history, fed the way the daemon feeds it (stored, then published).
    final class Feed: Sendable {
        let folder: String
        let history: EventHistory
        let server: EventServer
        let socket: String
        private let last = Locked<Int>(0)

        init(capacity: Int = 1024, retention: HistoryRetention = HistoryRetention(keepDays: nil, maxBytes: nil), now: Date = Date(),
             metrics: (@Sendable (EventServer.Counts) -> String)? = nil) throws {
            folder = NSTemporaryDirectory() + "merd-resume-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            history = try EventHistory(path: folder + "/history.sqlite", retention: retention, now: now)
            socket = folder + "/events.sock"
            var configuration = EventServer.Configuration(path: socket, queueCapacity: capacity)
            configuration.archive = history
            configuration.metrics = metrics
            server = try EventServer(configuration: configuration, hello: #"{"type":"hello","schema":1}"#, environment: [:])
            server.start()
        }

        /// Emits the next event: every tenth a status, the others faces.
        @discardableResult
        func emit(at time: Date = Date(), store: Bool = true) throws -> Int {
            try last.withLock { last in
                last += 1
                let type = last % 10 == 0 ? "status" : "face"
                let line = #"{"type":"\#(type)","seq":\#(last)}"#
                if store { try history.append(StoredEvent(seq: last, run: "r", type: type, time: time, line: line)) }
                server.publish(type: type, line: line, seq: last, stored: store)
                return last
            }
        }

        var lastSeq: Int { last.withLock { $0 } }

        func close() {
            server.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// What one connection received after `hello`: event seqs in order, and `dropped` counts.
    struct Received {
        var seqs: [Int] = []
        var dropped = 0
        var other: [String] = []

        mutating func take(_ line: String) {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
            if let seq = object["seq"] as? Int { seqs.append(seq) } else if object["type"] as? String == "dropped" {
                dropped += object["count"] as? Int ?? 0
            } else { other.append(line) }
        }
    }

    @Test("100 reconnects during a live stream, each resuming with since = the last seq read: every seq arrives exactly once, none dropped")
    func reconnects() throws {
        let feed = try Feed()
        defer { feed.close() }
        // A steady stream of events while the subscriber comes and goes.
        let stop = Locked(false)
        let publisher = Thread {
            while !stop.withLock({ $0 }) {
                _ = try? feed.emit()
                usleep(300)
            }
        }
        publisher.start()
        var generator = SystemRandomNumberGenerator()
        var all: [Int] = []
        var lastRead = 0
        var dropped = 0
        for _ in 0..<100 {
            let client = try TestSubscriber(path: feed.socket)
            client.send(#"{"since":\#(lastRead)}"#)
            var received = Received()
            #expect(client.object()?["type"] as? String == "hello")
            let want = Int.random(in: 1...200, using: &generator)
            while received.seqs.count < want, let line = client.line() { received.take(line) }
            all += received.seqs
            dropped += received.dropped
            lastRead = received.seqs.max() ?? lastRead
            // The client goes away mid-stream, with lines unread in its socket.
        }
        stop.withLock { $0 = true }
        while publisher.isExecuting { usleep(1000) }
        // One last resume reads to the end.
        let final = feed.lastSeq
        let client = try TestSubscriber(path: feed.socket)
        client.send(#"{"since":\#(lastRead)}"#)
        var received = Received()
        while received.seqs.max() ?? 0 < final, let line = client.line() { received.take(line) }
        all += received.seqs
        dropped += received.dropped
        let counts = Dictionary(all.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(final > 2000, "a live stream: \(final) events")
        #expect(Set(all) == Set(1...final), "missing: \(Set(1...final).subtracting(all).sorted().prefix(20))")
        #expect(counts.values.allSatisfy { $0 == 1 }, "twice: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(20))")
        #expect(dropped == 0)
    }

    @Test("a resuming client is never sent the status it already has, though events come before its since line is read")
    func statusNotRepeated() throws {
        let feed = try Feed()
        defer { feed.close() }
        for _ in 0..<12 { try feed.emit() }  // 10 is the latest status; the client read to 12
        let client = try TestSubscriber(path: feed.socket)
        #expect(client.object()?["type"] as? String == "hello")
        // Live events reach the server while the client has not yet sent its line (the case
        // a reconnecting client meets whenever the daemon is busy: found by the 100-reconnect
        // test above, which saw status 4940 twice).
        try feed.emit()  // 13
        try feed.emit()  // 14
        usleep(50_000)
        client.send(#"{"since":12}"#)
        var received = Received()
        while let line = client.line(timeout: 0.5) { received.take(line) }
        #expect(received.seqs == [13, 14])
        #expect(received.dropped == 0)
    }

    @Test("a replay is paced by the reader: 2000 stored events through a queue of 4, all in order, none dropped")
    func pacedReplay() throws {
        let feed = try Feed(capacity: 4)
        defer { feed.close() }
        for _ in 0..<2000 { try feed.emit() }
        let client = try TestSubscriber(path: feed.socket)
        _ = client.line()  // hello
        client.send(#"{"subscribe":["face","status"],"since":0}"#)
        var received = Received()
        while received.seqs.count < 2000, let line = client.line() { received.take(line) }
        #expect(received.seqs == Array(1...2000), "\(received.seqs.prefix(5))…\(received.seqs.suffix(3))")
        #expect(received.dropped == 0)
        // Then live.
        try feed.emit()
        if let line = client.line() { received.take(line) }
        #expect(received.seqs.last == 2001)
    }

    @Test("a replay keeps to the subscribed types, and counts the events retention deleted as dropped")
    func typesAndRetention() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let feed = try Feed(retention: HistoryRetention(keepDays: 1, maxBytes: nil), now: start)
        defer { feed.close() }
        for _ in 1...15 { try feed.emit(at: start) }  // seq 1…15
        // Two days later: the next append finds 1…15 past keep_days and deletes them.
        for _ in 16...30 { try feed.emit(at: start.addingTimeInterval(2 * 86_400)) }
        let client = try TestSubscriber(path: feed.socket)
        _ = client.line()  // hello
        client.send(#"{"subscribe":["status"],"since":5}"#)
        var received = Received()
        while let line = client.line(timeout: 0.5) { received.take(line) }
        // 6…15 are gone (10 events, of any type); of the rest, only the statuses.
        #expect(received.dropped == 10)
        #expect(received.seqs == [20, 30])
    }

    @Test("an event the history could not store reaches the live subscribers; a replaying one is told it missed it")
    func unstored() throws {
        let feed = try Feed(capacity: 4)
        defer { feed.close() }
        for _ in 0..<500 { try feed.emit() }
        let replaying = try TestSubscriber(path: feed.socket)
        _ = replaying.line()
        replaying.send(#"{"since":0}"#)
        let live = try TestSubscriber(path: feed.socket)
        _ = live.line()
        #expect(live.object()?["seq"] as? Int == 500, "the latest status, once the client did not subscribe in time")
        usleep(100_000)  // both subscribed; the replay is stalled on its full queue
        try feed.emit(store: false)  // 501
        #expect(live.object()?["seq"] as? Int == 501)
        var received = Received()
        while let line = replaying.line(timeout: 0.5) { received.take(line) }
        #expect(Set(received.seqs) == Set(1...500))
        #expect(received.dropped == 1)
        try feed.emit()  // 502: live again
        #expect(received.seqs.count == 500)
        if let line = replaying.line() { received.take(line) }
        #expect(received.seqs.last == 502)
    }

    @Test("since and metrics requests: answered, or refused with a reason that changes nothing", arguments: [
        (#"{"since":-1}"#, "error"), (#"{"metrics":false}"#, "error"), (#"{"since":"3"}"#, "error"),
        (#"{"subscribe":["face"],"since":3,"until":9}"#, "error"), (#"{"metrics":true}"#, "metrics"),
    ])
    func requests(_ line: String, _ expected: String) throws {
        let feed = try Feed(metrics: { counts in "# TYPE merd_subscribers gauge\nmerd_subscribers \(counts.subscribers)\n" })
        defer { feed.close() }
        let client = try TestSubscriber(path: feed.socket)
        _ = client.line()
        client.send(line)
        let reply = client.object()
        #expect(reply?["type"] as? String == expected, "\(String(describing: reply))")
        if expected == "metrics" { #expect(reply?["text"] as? String == "# TYPE merd_subscribers gauge\nmerd_subscribers 1\n") }
        // Still subscribed to everything: the next event arrives.
        let seq = try feed.emit()
        #expect(client.object()?["seq"] as? Int == seq)
    }

    @Test("without a history, since is refused with the reason; without metrics, so is a metrics request")
    func noHistory() throws {
        let path = NSTemporaryDirectory() + "merd-nohistory-\(UUID().uuidString.prefix(8)).sock"
        let server = try EventServer(configuration: .init(path: path), hello: #"{"type":"hello","schema":1}"#, environment: [:])
        server.start()
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        _ = client.line()
        client.send(#"{"since":0}"#)
        let reply = client.object()
        #expect(reply?["type"] as? String == "error")
        #expect((reply?["message"] as? String)?.contains("needs the history") == true)
        client.send(#"{"metrics":true}"#)
        #expect((client.object()?["message"] as? String)?.contains("metrics are off") == true)
    }
}
