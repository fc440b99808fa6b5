import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let descriptor: Int32

    init() throws {
        path = NSTemporaryDirectory() + "merd-notify-\(UUID().uuidString.prefix(8)).sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Datagrams received within `timeout` seconds, until one contains `until`.
    func messages(timeout: Double, until: String) -> [String] {
        var received: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 { received.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
            if received.last?.contains(until) == true { break }
        }
        return received
    }
}

@Suite("merd run, end to end", .serialized)
struct RunCommandTests {
    @Test("a GRID clip replayed live: READY, events to a reading and a stuck subscriber, watchdog, clean SIGTERM")
    func endToEnd() throws {
        let notify = try NotifySocket()
        let socketPath = NSTemporaryDirectory() + "merd-run-\(UUID().uuidString.prefix(8)).sock"
        let process = Process()
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--input", TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg"), "--socket", socketPath, "--models", "/nonexistent"]
        process.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let ready = notify.messages(timeout: 10, until: "READY=1")
        #expect(ready.contains { $0.contains("READY=1") && $0.contains("STATUS=listening on \(socketPath)") }, "\(ready)")
        let stuck = try TestSubscriber(path: socketPath)  // connects, never reads
        let reader = try TestSubscriber(path: socketPath)
        var types: [String] = []
        var utterance: [String: Any]?
        while let event = reader.object(timeout: 6) {
            types.append(event["type"] as? String ?? "?")
            if event["type"] as? String == "utterance" { utterance = event }
            if event["type"] as? String == "status", event["state"] as? String == "stopped" { break }
        }
        #expect(types.first == "hello" && types.contains("utterance") && types.last == "status", "\(types)")
        let u = try #require(utterance)
        #expect(abs((u["end"] as? Double ?? 0) - (u["start"] as? Double ?? 0) - 1.72) < 0.15, "about the aligned 0.49–2.21 s")
        let latency = u["latency_ms"] as? Int ?? -1
        #expect(latency >= 0 && latency < 1000, "latency from the end of speech: \(latency) ms")
        // The datagrams queued meanwhile (a full queue must not have stalled merd: it is still
        // serving), then fresh pings.
        let watchdog = notify.messages(timeout: 1, until: "WATCHDOG=1")
        #expect(watchdog.contains("WATCHDOG=1"))
        _ = notify.messages(timeout: 0.2, until: "never")

        let stopping = Date()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(stopping) < 2, "SIGTERM ends it within 2 s")
        #expect(process.terminationStatus == 0)
        #expect(notify.messages(timeout: 1, until: "STOPPING=1").contains("STOPPING=1"))
        #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket file is removed")
        _ = stuck
    }
}
