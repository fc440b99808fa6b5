import Locking
import EventServer
import Foundation
import Logging
import MerdDaemon
import ServiceLifecycle
import ServiceLifecycleTestKit
import StreamEngine
import Synchronization
import TestSupport
import Testing

/// `merd run`'s daemon in-process, shut down as SIGTERM does (a graceful shutdown of the group
/// it runs in), at the moments that used to go wrong.
@Suite("daemon shutdown, in-process", .serialized)
struct DaemonShutdownTests {
    /// A daemon replaying a GRID clip live with no models: utterances are found, their
    /// emotion is null.
    static func configuration(socket: String) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        configuration.input = TestPaths.sharedData("grid/bbaf2n.mpg")
        configuration.socketPath = socket
        configuration.threads = 1
        // Each daemon its own history (beside its socket): the default one is the user's.
        configuration.historyPath = socket + ".history.sqlite"
        return configuration
    }

    static func socketPath() -> String { NSTemporaryDirectory() + "merd-daemon-\(UUID().uuidString.prefix(8)).sock" }

    /// What the daemon told, and the server it started.
    final class Probe: Sendable {
        let server = Locked<EventServer?>(nil)
        let ready = Locked<ContinuousClock.Instant?>(nil)
        func started(_ server: EventServer, _ engine: Engine) {
            self.server.withLock { $0 = server }
            ready.withLock { $0 = .now }
        }
        var startedServer: EventServer? { server.withLock { $0 } }
    }

    /// A subscriber's lines, read on a task of their own until the socket closes.
    final class LineCollector: Sendable {
        private let received = Locked<[String]>([])
        var lines: [String] { received.withLock { $0 } }

        func read(_ subscriber: TestSubscriber) -> Task<Void, Never> {
            Task.detached {
                while let line = subscriber.line(timeout: 5) { self.received.withLock { $0.append(line) } }
            }
        }
    }

    /// Runs `daemon` until `body` has triggered its shutdown; returns how long the daemon took
    /// to return after the trigger.
    static func run(_ daemon: Daemon, _ body: @escaping @Sendable (GracefulShutdownTestTrigger) async throws -> Void) async throws -> Duration {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: ContinuousClock.Instant?.self) { group in
                group.addTask {
                    try await daemon.run()
                    return .now
                }
                group.addTask {
                    try await body(trigger)
                    return nil
                }
                var ended: ContinuousClock.Instant?
                var triggered: ContinuousClock.Instant?
                for try await instant in group {
                    if let instant { ended = instant } else { triggered = .now }
                }
                return ended! - (triggered ?? ended!)
            }
        }
    }

    @Test("during start: the models being loaded are abandoned, nothing is served, no socket is left, no READY")
    func duringStart() async throws {
        let socket = Self.socketPath()
        let notify = try NotifySocket()
        let logs = RecordingLogHandler.Store()
        let loading = Atomic<Bool>(false)
        let daemon = Daemon(configuration: Self.configuration(socket: socket), logger: RecordingLogHandler.logger(logs),
                            notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": notify.path])) { _, _, _ in
            loading.store(true, ordering: .relaxed)
            Thread.sleep(forTimeInterval: 3)  // a large model from a slow disk
            return EngineModels()
        }
        let took = try await Self.run(daemon) { trigger in
            while !loading.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
            trigger.triggerGracefulShutdown()
        }
        #expect(took < .seconds(1), "returned \(took) after the shutdown")
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(!notify.messages(timeout: 0.2, until: "READY=1").contains { $0.contains("READY=1") })
        #expect(logs.messages.contains { $0.contains("stopped while starting") }, "\(logs.messages)")
    }

    @Test("during an utterance: the utterance is dropped and logged, the last event is `daemon stopped`, then the socket closes; nothing after")
    func duringUtterance() async throws {
        let socket = Self.socketPath()
        let logs = RecordingLogHandler.Store()
        let probe = Probe()
        let daemon = Daemon(configuration: Self.configuration(socket: socket), logger: RecordingLogHandler.logger(logs),
                            loadModels: { _, _, _ in EngineModels() }, started: probe.started)
        let lines = LineCollector()
        let took = try await Self.run(daemon) { trigger in
            while probe.startedServer == nil { try await Task.sleep(for: .milliseconds(10)) }
            let reader = try TestSubscriber(path: socket)
            let readerTask = lines.read(reader)
            // GRID's speech runs from 0.49 s to 2.21 s of the clip; 1.2 s in, it is being spoken.
            try await Task.sleep(for: .milliseconds(1200))
            trigger.triggerGracefulShutdown()
            await readerTask.value
        }
        #expect(took < .seconds(2), "SIGTERM ends it within 2 s: \(took)")
        let received = lines.lines
        let types = received.compactMap { line in (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String }
        #expect(types.first == "hello")
        #expect(!types.contains("utterance"), "the utterance was still being spoken: \(types)")
        let last = try #require(received.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(last["type"] as? String == "status" && last["source"] as? String == "daemon" && last["state"] as? String == "stopped", "\(last)")
        #expect(logs.messages.contains { $0.contains("the utterance being spoken is dropped") }, "\(logs.messages)")
        #expect(probe.startedServer?.publishedAfterClose == 0)
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket file is removed")
    }

    @Test("after an utterance ended: it is finished before the socket closes")
    func afterUtterance() async throws {
        let socket = Self.socketPath()
        let probe = Probe()
        let daemon = Daemon(configuration: Self.configuration(socket: socket), logger: Logger(label: "test"),
                            loadModels: { _, _, _ in EngineModels() }, started: probe.started)
        let lines = LineCollector()
        _ = try await Self.run(daemon) { trigger in
            while probe.startedServer == nil { try await Task.sleep(for: .milliseconds(10)) }
            let reader = try TestSubscriber(path: socket)
            let readerTask = lines.read(reader)
            // The speech ends at 2.21 s and its end is confirmed a hangover later; the clip
            // lasts 3 s.
            try await Task.sleep(for: .milliseconds(2700))
            trigger.triggerGracefulShutdown()
            await readerTask.value
        }
        let types = lines.lines.compactMap { line in (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String }
        #expect(types.filter { $0 == "utterance" }.count == 1, "\(types)")
        #expect(probe.startedServer?.publishedAfterClose == 0)
    }

    @Test("with a stuck subscriber: shutdown does not wait for it; a reading one still gets the last status")
    func stuckSubscriber() async throws {
        let socket = Self.socketPath()
        let probe = Probe()
        var configuration = Self.configuration(socket: socket)
        configuration.sendBufferBytes = 4096
        configuration.queueSize = 4
        let daemon = Daemon(configuration: configuration, logger: Logger(label: "test"),
                            loadModels: { _, _, _ in EngineModels() }, started: probe.started)
        let lines = LineCollector()
        let took = try await Self.run(daemon) { trigger in
            while probe.startedServer == nil { try await Task.sleep(for: .milliseconds(10)) }
            let stuck = try TestSubscriber(path: socket)  // connects and never reads
            let reader = try TestSubscriber(path: socket)
            let readerTask = lines.read(reader)
            // Enough to fill the stuck one's socket and queue many times over.
            let filler = #"{"type":"status","seq":0,"source":"test","detail":"\#(String(repeating: "x", count: 2000))"}"#
            for _ in 0..<200 { probe.startedServer?.publish(type: "status", line: filler) }
            try await Task.sleep(for: .milliseconds(300))
            trigger.triggerGracefulShutdown()
            await readerTask.value
            withExtendedLifetime(stuck) {}
        }
        #expect(took < .seconds(2), "\(took)")
        let last = lines.lines.last ?? ""
        #expect(last.contains(#""source":"daemon""#) && last.contains(#""state":"stopped""#), "\(last.prefix(200))")
        #expect(!FileManager.default.fileExists(atPath: socket))
    }
}
