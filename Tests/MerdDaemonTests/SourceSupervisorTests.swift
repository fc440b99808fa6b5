import Foundation
import Locking
import Logging
import MediaTypes
import MerdDaemon
import MerdEvents
import StreamEngine
import TestSupport
import Testing

/// A camera that is unplugged and plugged back: the supervisor reports `lost`, waits, reopens.
@Suite("source supervisor: reopening a device that went away")
struct SourceSupervisorTests {
    /// A camera whose every opening runs for `runs` (frames at 50 fps), then fails as an unplug
    /// does; the first `deadOpenings` openings fail at once (unplugged).
    final class FlakyCamera: VideoSource, Sendable {
        let name = "flaky:camera"
        let runs: Duration
        let deadOpenings: Int
        let openings = Locked(0)

        init(runs: Duration, deadOpenings: Int = 0) {
            self.runs = runs
            self.deadOpenings = deadOpenings
        }

        func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
            let opening = openings.withLock { value -> Int in
                value += 1
                return value
            }
            if opening <= deadOpenings { throw .notFound(source: "flaky:camera") }
            let end = ContinuousClock.now + runs
            return AsyncThrowingStream {
                guard ContinuousClock.now < end else { throw CaptureError.lost(source: "flaky:camera", reason: "unplugged") }
                try await Task.sleep(for: .milliseconds(20))
                return try VideoFrame(packed: [UInt8](repeating: 90, count: 48), width: 4, height: 4, format: .rgb24, time: .now())
            }
        }
    }

    final class Statuses: Sendable {
        let events = Locked<[StatusEvent]>([])
        func record(_ event: Event) { if case .status(let status) = event, status.source == "video" { events.withLock { $0.append(status) } } }
        var reconnecting: [String] { events.withLock { $0 }.filter { $0.state == .reconnecting }.map(\.detail) }
    }

    static func supervise(_ camera: FlakyCamera, until reconnects: Int) async throws -> Statuses {
        let statuses = Statuses()
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        let engine = Engine(stages: EngineStages(makeSegmenter: { EnergySegmenter() }, speech: nil, faces: ScriptedFaceAnalyser(), fusion: nil),
                            configuration: configuration, emit: statuses.record)
        let supervisor = SourceSupervisor(source: .video(camera), engine: engine, reopen: true, logger: Logger(label: "test"),
                                          backoff: Backoff(initial: .milliseconds(50), maximum: .seconds(2), stable: .milliseconds(300)))
        let task = Task { await supervisor.run() }
        let deadline = ContinuousClock.now + .seconds(60)  // generous: a loaded machine (parallel tests) is slow
        while statuses.reconnecting.count < reconnects, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = await task.value
        return statuses
    }

    @Test("unplugged after running a while, five times: each time reopened after the initial delay, not twice the last one")
    func runsThenFails() async throws {
        let statuses = try await Self.supervise(FlakyCamera(runs: .milliseconds(400)), until: 5)
        let waits = statuses.reconnecting
        #expect(waits.count >= 5 && waits.prefix(5).allSatisfy { $0.hasSuffix("in 0.05 s") }, "\(waits)")
        let states = statuses.events.withLock { $0 }.map(\.state)
        #expect(states.prefix(6) == [.running, .lost, .reconnecting, .running, .lost, .reconnecting], "\(states)")
    }

    @Test("unplugged for a while (openings fail at once): the delay doubles; plugged back and running, it starts over")
    func deadThenRuns() async throws {
        let statuses = try await Self.supervise(FlakyCamera(runs: .milliseconds(400), deadOpenings: 4), until: 6)
        // Four openings fail at once (doubling), then each run of 0.4 s (over `stable`, 0.3 s) starts over.
        let waits = statuses.reconnecting.prefix(6).map { $0.replacingOccurrences(of: "flaky:camera in ", with: "") }
        #expect(waits == ["0.05 s", "0.1 s", "0.2 s", "0.4 s", "0.05 s", "0.05 s"], "\(waits)")
    }
}
