import EventHistory
import EventServer
import Foundation
import Locking
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `merd bridge mqtt` against a real Mosquitto broker (Debian's `mosquitto`, on loopback) and a
/// real MQTT consumer (`mosquitto_sub` from `mosquitto-clients`), fed by an events socket with
/// a history, as the daemon's.
@Suite("merd bridge mqtt, against Mosquitto", .serialized)
struct BridgeCommandTests {
    /// A broker on a free loopback port, restartable on the same port with its persistent
    /// state (sessions and queued messages) kept.
    final class Broker {
        let folder: String
        let port: Int
        private var process: SpawnedProcess?
        /// The configuration's own lines (PORT stands for the port); a restart reads them again.
        var extra: String

        init(folder: String, extra: String = "") throws {
            self.folder = folder
            self.extra = extra
            port = try Self.freePort()
            try start()
        }

        func start() throws {
            let config = folder + "/mosquitto.conf"
            // As the user running the test, so that it can write its log and state in `folder`.
            try """
                user \(NSUserName())
                persistence true
                persistence_location \(folder)/
                log_dest file \(folder)/mosquitto.log
                log_type all
                \(extra.isEmpty ? "listener \(port) 127.0.0.1\nallow_anonymous true" : extra.replacingOccurrences(of: "PORT", with: String(port)))

                """.write(toFile: config, atomically: true, encoding: .utf8)
            process = try SpawnedProcess("/usr/sbin/mosquitto", ["-c", config])
            // Listening once a TCP connect succeeds.
            for _ in 0..<500 where !Self.listening(port) { usleep(10_000) }
        }

        /// SIGTERM: Mosquitto saves its state and exits.
        func stop() { process?.stop() }

        var log: String { (try? String(contentsOfFile: folder + "/mosquitto.log", encoding: .utf8)) ?? "" }

        static func listening(_ port: Int) -> Bool {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }

        /// A port the kernel just gave out and took back.
        static func freePort() throws -> Int {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
            }
            guard bound else { throw POSIXError(.EADDRINUSE) }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }

    /// `mosquitto_sub` on a persistent session (QoS 1), its lines (`topic payload`) in a file.
    final class Consumer {
        let process: SpawnedProcess
        let output: String

        init(broker: Broker, topic: String, id: String, arguments: [String] = []) throws {
            output = broker.folder + "/\(id).out"
            process = try SpawnedProcess("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", topic, "-q", "1",
                                                                  "-c", "-i", id, "-v"] + arguments, log: output)
            // Subscribed once the broker has logged its connection.
            for _ in 0..<500 where !broker.log.contains(" as \(id) ") { usleep(10_000) }
            usleep(200_000)
        }

        var lines: [String] {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        /// The `seq` of each event line received, in order.
        var seqs: [Int] {
            lines.compactMap { line in
                guard let space = line.firstIndex(of: " ") else { return nil }
                return ((try? JSONSerialization.jsonObject(with: Data(line[line.index(after: space)...].utf8))) as? [String: Any])?["seq"] as? Int
            }
        }

        func stop() { process.stop() }
    }

    /// An events socket with a history, fed a steady stream of events from a thread.
    final class Daemon: @unchecked Sendable {
        let history: EventHistory
        let server: EventServer
        let socket: String
        private let last = Locked(0)
        private let target = Locked(0)
        private var thread: Thread?

        init(folder: String) throws {
            history = try EventHistory(path: folder + "/history.sqlite")
            socket = folder + "/events.sock"
            var configuration = EventServer.Configuration(path: socket)
            configuration.archive = history
            server = try EventServer(configuration: configuration, hello: #"{"type":"hello","schema":1,"run":"test-run"}"#, environment: [:])
            server.start()
        }

        /// Emits events, one every `interval` microseconds, until `count` have been.
        func emit(_ count: Int, interval: UInt32) {
            target.withLock { $0 = count }
            let thread = Thread { [self] in
                while last.withLock({ $0 }) < target.withLock({ $0 }) {
                    last.withLock { last in
                        last += 1
                        let type = last % 10 == 0 ? "status" : "face"
                        let line = #"{"type":"\#(type)","seq":\#(last),"time":"\#(Date().timeIntervalSince1970)"}"#
                        try? history.append(StoredEvent(seq: last, run: "test-run", type: type, time: Date(), line: line))
                        server.publish(type: type, line: line, seq: last, stored: true)
                    }
                    usleep(interval)
                }
            }
            self.thread = thread
            thread.start()
        }

        var emitted: Int { last.withLock { $0 } }

        func stop() { server.stop() }
    }

    /// `merd bridge mqtt …`, its log in a file.
    static func bridge(_ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = ["bridge", "mqtt"] + arguments
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        try process.run()
        return process
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "merd-bridge-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("3000 events through the bridge while the bridge is killed (SIGKILL) and restarted and the broker restarted: every seq reaches the broker once (one may twice, if the kill falls between an event and its marker) and the consumer; retained status and last will")
    func survivesRestarts() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broker = try Broker(folder: folder)
        defer { broker.stop() }
        let daemon = try Daemon(folder: folder)
        defer { daemon.stop() }
        let consumer = try Consumer(broker: broker, topic: "merd/test/events/#", id: "consumer")
        defer { consumer.stop() }
        let watcher = try Consumer(broker: broker, topic: "merd/test/status", id: "watcher")
        defer { watcher.stop() }

        let total = 3000
        let maxPending = 50
        let arguments = ["--broker", "mqtt://127.0.0.1:\(broker.port)", "--topic", "merd/test", "--socket", daemon.socket,
                         "--state", folder + "/bridge.json", "--max-pending", String(maxPending)]
        let log = folder + "/bridge.log"
        var bridge = try Self.bridge(arguments + ["--since", "0"], log: log)
        defer { if bridge.isRunning { bridge.terminate(); bridge.waitUntilExit() } }
        daemon.emit(total, interval: 1500)  // ~4.5 s of events

        // The bridge dies mid-stream without a word.
        #expect(Self.waitUntil(20) { consumer.seqs.count > total / 4 })
        kill(bridge.processIdentifier, SIGKILL)
        bridge.waitUntilExit()
        let atKill = consumer.seqs.max() ?? 0
        #expect(Self.waitUntil(5) { watcher.lines.contains { $0.contains(#""reason":"connection lost""#) && $0.contains(#""state":"offline""#) } },
                "the broker published the last will: \(watcher.lines)")
        usleep(300_000)  // events pile up in the history meanwhile
        bridge = try Self.bridge(arguments, log: log)  // resumes from its state file

        // The broker goes down and comes back on the same port.
        #expect(Self.waitUntil(20) { (consumer.seqs.max() ?? 0) > atKill + total / 4 })
        let atRestart = consumer.seqs.max() ?? 0
        broker.stop()
        usleep(500_000)
        try broker.start()

        // Everything arrives.
        let complete = Self.waitUntil(60) { Set(consumer.seqs).count >= total }
        let seqs = consumer.seqs
        let counts = Dictionary(seqs.map { ($0, 1) }, uniquingKeysWith: +)
        let repeated = counts.filter { $0.value > 1 }.map(\.key).sorted()
        let bridgeLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(complete && Set(seqs) == Set(1...total), "missing: \(Set(1...total).subtracting(seqs).sorted().prefix(30)); log: \(bridgeLog)")
        // The broker's own log (log_type all) says what crossed each leg. The bridge's leg: each
        // event reached the broker once through the kill (the retained marker) and the broker's
        // restart — but one, when the kill fell between an event and its marker. The
        // consumer's leg is QoS 1 too: what the broker had sent it and not seen acknowledged
        // when it stopped, it sends again (d1).
        let brokerLog = broker.log.split(separator: "\n")
        let received = brokerLog.filter { $0.contains("Received PUBLISH from merd-bridge-") && $0.contains("'merd/test/events/") }.count
        let redelivered = brokerLog.filter { $0.contains("Sending PUBLISH to consumer (d1,") }.count
        #expect(received == total || received == total + 1, "the broker received \(received) event publications for \(total) events")
        #expect(repeated.count <= redelivered + (received - total), "\(repeated.count) repeated \(repeated.prefix(40)), \(redelivered) redelivered by the broker")
        print("bridge: \(total) events, \(received) received by the broker, \(repeated.count) repeated to the consumer: \(repeated) (killed after \(atKill), broker restarted after \(atRestart))")
        #expect(counts.keys.allSatisfy { (1...total).contains($0) })

        // A graceful stop: acknowledged progress stored, status offline (retained).
        bridge.terminate()
        bridge.waitUntilExit()
        #expect(bridge.terminationStatus == 0)
        let stored = try String(contentsOfFile: folder + "/bridge.json", encoding: .utf8)
        #expect(stored.contains(#""seq":\#(total)"#), "\(stored); \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let retained = try ProcessOutput.run("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "merd/test/status", "-C", "1", "-W", "3"])
        #expect(retained.contains(#""state":"offline""#) && retained.contains(#""reason":"stopped""#), "\(retained)")
    }

    @Test("TLS with a test CA and a password: events arrive; a wrong password or an unknown CA is logged and retried, nothing published; a bridge that met a certificate it does not trust connects once the broker presents one it does")
    func tls() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A CA, and a certificate for 127.0.0.1 and localhost signed by it.
        func openssl(_ arguments: [String]) throws {
            _ = try ProcessOutput.run("/usr/bin/openssl", arguments)
        }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=merd test CA", "-keyout", folder + "/ca.key", "-out", folder + "/ca.pem"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", folder + "/server.key", "-out", folder + "/server.csr"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: folder + "/san.ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", folder + "/server.csr", "-CA", folder + "/ca.pem", "-CAkey", folder + "/ca.key", "-CAcreateserial",
                     "-days", "2", "-extfile", folder + "/san.ext", "-out", folder + "/server.pem"])
        // Another CA, which did not sign the broker's certificate.
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA", "-keyout", folder + "/other.key", "-out", folder + "/other.pem"])
        _ = try ProcessOutput.run("/usr/bin/mosquitto_passwd", ["-c", "-b", folder + "/passwords", "bridge", "s3cret"])
        try "s3cret\n".write(toFile: folder + "/password", atomically: true, encoding: .utf8)
        try "wrong\n".write(toFile: folder + "/wrong", atomically: true, encoding: .utf8)

        let broker = try Broker(folder: folder, extra: """
            listener PORT 127.0.0.1
            cafile \(folder)/ca.pem
            certfile \(folder)/server.pem
            keyfile \(folder)/server.key
            allow_anonymous false
            password_file \(folder)/passwords
            """)
        defer { broker.stop() }
        let daemon = try Daemon(folder: folder)
        defer { daemon.stop() }
        let output = folder + "/consumer.out"
        let consumer = try SpawnedProcess("/usr/bin/mosquitto_sub", [
            "-h", "127.0.0.1", "-p", String(broker.port), "--cafile", folder + "/ca.pem", "-u", "bridge", "-P", "s3cret",
            "-t", "merd/tls/events/#", "-q", "1", "-c", "-i", "tls-consumer", "-v"], log: output)
        defer { consumer.stop() }
        #expect(Self.waitUntil(5) { broker.log.contains(" as tls-consumer ") })

        daemon.emit(200, interval: 2000)
        let common = ["--topic", "merd/tls", "--socket", daemon.socket, "--since", "0", "--username", "bridge"]
        // Wrong password, then a CA that did not sign the broker: each logged, nothing sent.
        for (extra, needle) in [(["--ca-file", folder + "/ca.pem", "--password-file", folder + "/wrong"], "not authorised"),
                                (["--ca-file", folder + "/other.pem", "--password-file", folder + "/password"], "certificate verify failed")] {
            let log = folder + "/refused.log"
            try? FileManager.default.removeItem(atPath: log)
            let refused = try Self.bridge(["--broker", "mqtts://127.0.0.1:\(broker.port)", "--state", folder + "/refused.json"] + common + extra, log: log)
            #expect(Self.waitUntil(10) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(needle) },
                    "\(extra): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            refused.terminate()
            refused.waitUntilExit()
            #expect(refused.terminationStatus == 0, "a refusing broker is retried, not fatal")
        }
        #expect(((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").isEmpty, "nothing got through")
        let log = folder + "/bridge.log"
        let bridge = try Self.bridge(["--broker", "mqtts://localhost:\(broker.port)", "--ca-file", folder + "/ca.pem",
                                      "--password-file", folder + "/password", "--state", folder + "/bridge.json"] + common, log: log)
        defer { bridge.terminate(); bridge.waitUntilExit() }
        let received = Self.waitUntil(20) {
            Set(((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line -> Int? in
                guard let space = line.firstIndex(of: " ") else { return nil }
                return ((try? JSONSerialization.jsonObject(with: Data(line[line.index(after: space)...].utf8))) as? [String: Any])?["seq"] as? Int
            }).count == 200
        }
        #expect(received, "log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

        // The broker's certificate replaced by one the other CA signed, then put right (a
        // botched rotation): the bridge says why it cannot connect, keeps trying (libmosquitto's
        // own loop would give up after the first TLS error), and then delivers everything.
        try openssl(["x509", "-req", "-in", folder + "/server.csr", "-CA", folder + "/other.pem", "-CAkey", folder + "/other.key", "-CAcreateserial",
                     "-days", "2", "-extfile", folder + "/san.ext", "-out", folder + "/wrongserver.pem"])
        let trusted = broker.extra
        broker.stop()
        broker.extra = trusted.replacingOccurrences(of: folder + "/server.pem", with: folder + "/wrongserver.pem")
        try broker.start()
        let rotationLog = folder + "/rotation.log", rotationState = folder + "/rotation.json"
        let rotating = try Self.bridge(["--broker", "mqtts://localhost:\(broker.port)", "--ca-file", folder + "/ca.pem",
                                        "--password-file", folder + "/password", "--state", rotationState] + common, log: rotationLog)
        defer { rotating.terminate(); rotating.waitUntilExit() }
        let rotationText = { (try? String(contentsOfFile: rotationLog, encoding: .utf8)) ?? "" }
        #expect(Self.waitUntil(10) { rotationText().contains("certificate verify failed") }, "\(rotationText())")
        usleep(1_500_000)  // at least one more attempt meets the wrong certificate
        broker.stop()
        broker.extra = trusted
        try broker.start()
        let delivered = Self.waitUntil(40) {
            ((try? String(contentsOfFile: rotationState, encoding: .utf8)) ?? "").contains(#""seq":200"#)
        }
        #expect(delivered, "\(rotationText())")
        #expect(rotationText().components(separatedBy: "certificate verify failed").count == 2, "told once, not at every attempt: \(rotationText())")
    }

    @Test("bad bridge options: one line each, exit status 2")
    func badOptions() throws {
        for (arguments, needle) in [
            (["--broker", "http://x"], "give mqtt://HOST:PORT"), (["--broker", "mqtt://:1883"], "names no host"),
            (["--broker", "mqtt://host:99999"], "the port must be"), (["--broker", "mqtt://h", "--topic", "merd/#"], "without wildcards"),
            (["--broker", "mqtt://h", "--ca-file", "/nonexistent.pem"], "--ca-file /nonexistent.pem: no such readable file"),
            (["--broker", "mqtt://h", "--password-file", "/nonexistent"], "--password-file /nonexistent: cannot read it"),
            (["--broker", "mqtt://h", "--cert-file", "/etc/hostname"], "go together"),
            (["--broker", "mqtt://h", "--since=-2"], "--since takes a seq"),
        ] {
            let result = try MerdProcess.run(["bridge", "mqtt"] + arguments)
            #expect(result.status == 2 && result.stderr.contains(needle) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "garbage".write(toFile: folder + "/state.json", atomically: true, encoding: .utf8)
        let result = try MerdProcess.run(["bridge", "mqtt", "--broker", "mqtt://127.0.0.1:1", "--state", folder + "/state.json"])
        #expect(result.status == 2 && result.stderr.contains("not the bridge's state file"), "\(result.stderr)")
    }
}
