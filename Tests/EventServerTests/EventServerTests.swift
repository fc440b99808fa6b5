@testable import EventServer
import Locking
import TestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Events socket", .serialized)
struct EventServerTests {
    static func path() -> String { NSTemporaryDirectory() + "merd-events-\(UUID().uuidString.prefix(8)).sock" }

    static func server(_ path: String, capacity: Int = 1024) throws -> EventServer {
        let server = try EventServer(configuration: .init(path: path, queueCapacity: capacity), hello: #"{"type":"hello","schema":1}"#,
                                     environment: [:])
        server.start()
        return server
    }

    /// This process's CPU time, user and system.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func waitForSubscribers(_ server: EventServer, _ count: Int) {
        for _ in 0..<200 where server.subscriberCount < count { usleep(5000) }
    }

    @Test("hello on connect, then every event type by default, one JSON object per line")
    func helloAndEvents() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        #expect(client.object()?["type"] as? String == "hello")
        Self.waitForSubscribers(server, 1)
        server.publish(type: "status", line: #"{"type":"status","seq":1}"#)
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":2}"#)
        #expect(client.object()?["seq"] as? Int == 1)
        #expect(client.object()?["seq"] as? Int == 2)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o660, "socket mode 0660")
    }

    @Test("a replaced hello goes to those who connect after it; a subscriber already connected keeps reading its stream")
    func replacedHello() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let before = try TestSubscriber(path: path)
        #expect(before.object()?["schema"] as? Int == 1)
        Self.waitForSubscribers(server, 1)
        server.replaceHello(#"{"type":"hello","schema":1,"models":{"fusion":"jdev-ensemble"}}"#)
        server.publish(type: "status", line: #"{"type":"status","seq":1,"source":"fusion"}"#, source: "fusion")
        #expect(before.object()?["seq"] as? Int == 1, "no second hello, the status event next")
        let after = try TestSubscriber(path: path)
        let hello = try #require(after.object())
        #expect(hello["type"] as? String == "hello" && (hello["models"] as? [String: Any])?["fusion"] as? String == "jdev-ensemble", "\(hello)")
        #expect(after.object()?["source"] as? String == "fusion", "then the latest status")
    }

    @Test("idle subscribers cost no CPU: the loop sleeps in poll")
    func idle() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        _ = client.line()
        server.publish(type: "status", line: #"{"type":"status","seq":1}"#)
        _ = client.line()
        let before = Self.cpuSeconds()
        usleep(500_000)
        let used = Self.cpuSeconds() - before
        #expect(used < 0.1, "\(used) s of CPU in 0.5 s with one idle subscriber")
    }

    @Test("a new subscriber gets the latest status right after hello")
    func statusAfterHello() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        server.publish(type: "status", line: #"{"type":"status","seq":1,"state":"running"}"#)
        server.publish(type: "status", line: #"{"type":"status","seq":2,"state":"lost"}"#)
        let client = try TestSubscriber(path: path)
        #expect(client.object()?["type"] as? String == "hello")
        #expect(client.object()?["seq"] as? Int == 2)
    }

    @Test("a new subscriber gets each source's latest status, oldest first, then the live events")
    func statusOfEachSource() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        server.publish(type: "status", line: #"{"type":"status","seq":1,"source":"audio","state":"running"}"#, seq: 1, source: "audio")
        server.publish(type: "status", line: #"{"type":"status","seq":2,"source":"video","state":"running"}"#, seq: 2, source: "video")
        server.publish(type: "status", line: #"{"type":"status","seq":3,"source":"video","state":"lost"}"#, seq: 3, source: "video")
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":4}"#, seq: 4)
        let client = try TestSubscriber(path: path)
        #expect(client.object()?["type"] as? String == "hello")
        client.send(#"{"subscribe":["status","utterance"]}"#)
        let first = client.object(), second = client.object()
        #expect(first?["seq"] as? Int == 1 && first?["source"] as? String == "audio", "\(String(describing: first))")
        #expect(second?["seq"] as? Int == 3 && second?["state"] as? String == "lost", "\(String(describing: second))")
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":5}"#, seq: 5)
        #expect(client.object()?["seq"] as? Int == 5, "the live event next; no earlier status again")

        // One that subscribes to faces alone gets no status.
        let faces = try TestSubscriber(path: path)
        _ = faces.line()
        faces.send(#"{"subscribe":["face"]}"#)
        server.publish(type: "face", line: #"{"type":"face","seq":6}"#, seq: 6)
        #expect(faces.object()?["seq"] as? Int == 6)
    }

    @Test("a subscribe line filters types; an unknown type or a bad line gets an error and changes nothing")
    func subscribe() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        _ = client.line()
        client.send(#"{"subscribe":["faces"]}"#)
        let error = client.object()
        #expect(error?["type"] as? String == "error" && (error?["message"] as? String)?.contains("unknown subscribe type 'faces'") == true)
        client.send("hello?")
        #expect(client.object()?["type"] as? String == "error")
        client.send(#"{"subscribe":["utterance"]}"#)
        usleep(100_000)
        server.publish(type: "face", line: #"{"type":"face","seq":1}"#)
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":2}"#)
        #expect(client.object()?["seq"] as? Int == 2, "the face event was filtered out")
    }

    @Test("events published before the subscription line is read: the subscription's types only, after the latest status, in order")
    func eventsBeforeSubscribing() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        server.publish(type: "status", line: #"{"type":"status","seq":1}"#, seq: 1)
        let typed = try TestSubscriber(path: path), silent = try TestSubscriber(path: path)
        _ = typed.line()
        _ = silent.line()
        Self.waitForSubscribers(server, 2)
        server.publish(type: "face", line: #"{"type":"face","seq":2}"#, seq: 2)
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":3}"#, seq: 3)
        usleep(50_000)
        typed.send(#"{"subscribe":["utterance","status"]}"#)
        #expect(typed.object()?["seq"] as? Int == 1, "the latest status first")
        #expect(typed.object()?["seq"] as? Int == 3, "the face event was not subscribed to")
        #expect(typed.line(timeout: 0.3) == nil)
        // The client that says nothing gets everything after the wait, the status first.
        #expect(silent.object()?["seq"] as? Int == 1)
        #expect(silent.object()?["seq"] as? Int == 2)
        #expect(silent.object()?["seq"] as? Int == 3)
    }

    @Test("a stuck subscriber loses its oldest events and is told how many; the others get everything")
    func slowSubscriber() throws {
        let path = Self.path()
        let server = try Self.server(path, capacity: 64)
        defer { server.stop() }
        let stuck = try TestSubscriber(path: path), reader = try TestSubscriber(path: path)
        _ = stuck.line()
        _ = reader.line()
        // Both subscribe, as every client should at once: a silent one's events would wait 200 ms.
        stuck.send(#"{"subscribe":["utterance"]}"#)
        reader.send(#"{"subscribe":["utterance"]}"#)
        Self.waitForSubscribers(server, 2)
        usleep(50_000)
        // The reader drains on its own thread, as a live dashboard would.
        let tally = Tally()
        let draining = Thread {
            while let object = reader.object(timeout: 1) {
                tally.add(object["type"] as? String ?? "")
                if tally.count("utterance") == 400 { break }
            }
        }
        draining.start()
        // Large events fill the stuck one's socket buffer first, then its queue of 64.
        let padding = String(repeating: "x", count: 8000)
        let start = Date()
        for seq in 1...400 {
            server.publish(type: "utterance", line: #"{"type":"utterance","seq":\#(seq),"pad":"\#(padding)"}"#)
            usleep(500)
        }
        let publishing = Date().timeIntervalSince(start)
        while !draining.isFinished { usleep(10_000) }
        #expect(tally.count("utterance") == 400 && tally.count("dropped") == 0, "the reading subscriber got every event")
        #expect(publishing < 5, "publishing never waited on the stuck subscriber (\(publishing) s for 400 events)")
        // Now the stuck one reads: what its socket held, then a dropped notice, then the newest 64.
        var seqs: [Int] = []
        var dropped = 0
        while let object = stuck.object(timeout: 0.5) {
            if object["type"] as? String == "dropped" { dropped += object["count"] as? Int ?? 0 } else if let seq = object["seq"] as? Int { seqs.append(seq) }
        }
        #expect(dropped > 0 && dropped + seqs.count == 400, "dropped \(dropped), received \(seqs.count)")
        #expect(Array(seqs.suffix(64)) == Array(337...400), "the newest events survive")
        #expect(seqs == seqs.sorted(), "in order")
    }

    @Test("a line over 64 KiB closes that connection only")
    func oversizedLine() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let rude = try TestSubscriber(path: path), polite = try TestSubscriber(path: path)
        _ = rude.line()
        _ = polite.line()
        rude.send(String(repeating: "a", count: 70_000))
        #expect(rude.line(timeout: 1) == nil, "closed")
        server.publish(type: "status", line: #"{"type":"status","seq":9}"#)
        #expect(polite.object()?["seq"] as? Int == 9)
    }

    @Test("a client flooding lines without reading never delays the others (each event reaches a reader within 100 ms); it is told once and disconnected")
    func floodingClient() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let reader = try TestSubscriber(path: path), flooder = try TestSubscriber(path: path)
        _ = reader.line()
        reader.send(#"{"subscribe":["utterance"]}"#)
        Self.waitForSubscribers(server, 2)
        usleep(50_000)
        // The flooder writes as fast as its socket takes, on its own thread, until it is cut off.
        let flooding = Thread {
            let chunk = Array(String(repeating: "{\"subscribe\": [\"utterance\"]} garbage\n", count: 100).utf8)
            let until = Date().addingTimeInterval(3)
            while Date() < until {
                let sent = chunk.withUnsafeBytes { send(flooder.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 { return }
            }
        }
        flooding.start()
        let delays = Locked<[Double]>([])
        let receiving = Thread {
            while let object = reader.object(timeout: 2), let sent = object["t"] as? Double {
                delays.withLock { $0.append(ProcessInfo.processInfo.systemUptime - sent) }
                if object["seq"] as? Int == 100 { break }
            }
        }
        receiving.start()
        for seq in 1...100 {
            server.publish(type: "utterance", line: #"{"type":"utterance","seq":\#(seq),"t":\#(ProcessInfo.processInfo.systemUptime)}"#)
            usleep(10_000)
        }
        while !receiving.isFinished { usleep(10_000) }
        let received = delays.withLock { $0 }
        #expect(received.count == 100, "the reader got every event")
        #expect((received.max() ?? 1) < 0.1, "longest delivery delay \(received.max() ?? -1) s")
        while !flooding.isFinished { usleep(10_000) }
        // What the flooder was sent: its hello, replies, then one refusal, then the end.
        var refusals = 0
        while let object = flooder.object(timeout: 1) {
            if (object["message"] as? String)?.contains("over this connection's budget") == true { refusals += 1 }
        }
        #expect(refusals == 1)
        Self.waitForSubscribers(server, 1)
        #expect(server.subscriberCount == 1, "the flooder is gone, the reader stays")
    }

    @Test("a burst of bad lines over the budget: the replies within it, then one refusal, and the connection closes")
    func burst() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        _ = client.line()
        // One write, so the server reads all 200 lines at once (line by line, replies would drain
        // between reads and the line budget, not the unread replies, would end it).
        let burst = Array(String(repeating: "not json\n", count: 200).utf8)
        #expect(burst.withUnsafeBytes { send(client.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == burst.count)
        var replies = 0, refusals = 0
        while let object = client.object(timeout: 1) {
            let message = object["message"] as? String ?? ""
            if message.contains("over this connection's budget") { refusals += 1 } else if message.contains("expected one line") { replies += 1 }
        }
        // The 200 lines arrive in one read, before any reply can go out: the first 16 are
        // answered (the unread-reply limit), the 17th is refused.
        #expect(replies == 16 && refusals == 1, "\(replies) replies, \(refusals) refusals")
        for _ in 0..<200 where server.subscriberCount > 0 { usleep(5000) }
        #expect(server.subscriberCount == 0)
    }

    @Test("the line budget: a burst of 64, then 16 a second")
    func lineBudget() {
        let start = ContinuousClock.now
        var budget = ClientInputBudget(limits: .standard, now: start)
        /// How many lines in a row are accepted at `now`.
        func accepted(at now: ContinuousClock.Instant) -> Int {
            var count = 0
            while count < 1000, budget.takeLine(now: now) { count += 1 }
            return count
        }
        #expect(accepted(at: start) == 64, "the burst")
        #expect(accepted(at: start + .milliseconds(500)) == 8, "half a second refills 8")
        #expect(accepted(at: start + .seconds(60)) == 64, "never more than the burst")
    }

    @Test("a subscriber that shuts down its sending side (nc -N) keeps receiving, and costs no CPU meanwhile")
    func halfClosed() throws {
        let path = Self.path()
        let server = try Self.server(path)
        defer { server.stop() }
        let client = try TestSubscriber(path: path)
        _ = client.line()
        client.send(#"{"subscribe": ["utterance"]}"#)
        shutdown(client.descriptor, Int32(SHUT_WR))
        usleep(100_000)
        #expect(server.subscriberCount == 1)
        let before = Self.cpuSeconds()
        usleep(500_000)
        let used = Self.cpuSeconds() - before
        #expect(used < 0.1, "\(used) s of CPU in 0.5 s: the loop must not spin on end of file")
        server.publish(type: "face", line: #"{"type":"face","seq":1}"#)
        server.publish(type: "utterance", line: #"{"type":"utterance","seq":2}"#)
        #expect(client.object()?["seq"] as? Int == 2, "the subscription holds and events still arrive")
    }

    @Test("a stale socket file is replaced; a live one, or a file that is not a socket, is refused")
    func socketFile() throws {
        let path = Self.path()
        // Stale: a socket file nobody listens on.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        let server = try Self.server(path)
        #expect(throws: EventServerError.inUse(path)) { _ = try EventServer(configuration: .init(path: path), hello: "{}", environment: [:]) }
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on stop")

        let plain = Self.path()
        #expect(FileManager.default.createFile(atPath: plain, contents: Data("x".utf8)))
        defer { unlink(plain) }
        #expect(throws: EventServerError.notASocket(plain)) { _ = try EventServer(configuration: .init(path: plain), hello: "{}", environment: [:]) }
    }
}

extension EventServerTests {
    /// A client started before the daemon (a dashboard, a unit ordered after merd) waits for the
    /// socket file and connects the moment it is there: the file must not be there before the
    /// socket listens. It used to appear at bind(), a moment before listen(), and a client
    /// that came in that moment was refused (ECONNREFUSED, once, in `HistoryCommandTests` on a
    /// loaded machine). The hook runs in that moment.
    @Test("the socket file appears only once the socket listens, with its mode, and no temporary file is left")
    func socketFileAppearsListening() throws {
        let path = Self.path()
        var visibleBeforeListening: Bool?
        let descriptor = try EventServer.listen(at: path, mode: 0o640) {
            var status = stat()
            visibleBeforeListening = lstat(path, &status) == 0
        }
        defer { close(descriptor); unlink(path) }
        #expect(visibleBeforeListening == false, "a client could have found the file and been refused")
        var status = stat()
        #expect(lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o640)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
        let name = URL(fileURLWithPath: path).lastPathComponent
        #expect(siblings.filter { $0.hasPrefix(name) } == [name], "\(siblings.filter { $0.hasPrefix(name) })")
        // It listens under its final name: a client connects and is accepted.
        let client = try TestSubscriber(path: path)
        let accepted = accept(descriptor, nil, nil)
        #expect(accepted >= 0)
        close(accepted)
        withExtendedLifetime(client) {}
    }

    @Test("a path too long for a temporary name beside it is bound directly; one too long for a socket is refused")
    func socketPathLengths() throws {
        // sun_path holds 107 bytes and a NUL: a path of 100 fits, its temporary name does not.
        let folder = NSTemporaryDirectory() + "merd-long-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/" + String(repeating: "s", count: 100 - folder.utf8.count - 1)
        #expect(path.utf8.count == 100)
        let descriptor = try EventServer.listen(at: path, mode: 0o660)
        defer { close(descriptor) }
        _ = try TestSubscriber(path: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1)
        let tooLong = folder + "/" + String(repeating: "s", count: 120)
        #expect(throws: EventServerError.pathTooLong(tooLong)) { _ = try EventServer.listen(at: tooLong, mode: 0o660) }
    }
}

/// Counts by event type, shared between a reading thread and the test.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func add(_ type: String) { lock.withLock { counts[type, default: 0] += 1 } }
    func count(_ type: String) -> Int { lock.withLock { counts[type] ?? 0 } }
}
