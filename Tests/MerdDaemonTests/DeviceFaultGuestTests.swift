import CaptureALSA
import CaptureV4L2
import Foundation
import Locking
import Logging
import MediaTypes
import MerdDaemon
import MerdEvents
import StreamEngine
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Devices that go away under capture and come back, on real kernel drivers inside the QEMU
/// guest (`Tests/V4L2Guest/run`): vivid's camera and snd-aloop's sound card are unbound from
/// their platform driver and bound again through sysfs — to the driver, what unplugging does —
/// while the daemon's supervisor captures from them. Outside the guest these are skipped.
@Suite("device faults on real drivers (QEMU guest)", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: ProcessInfo.processInfo.environment["MERD_V4L2_GUEST"] == "1"))
struct DeviceFaultGuestTests {
    final class Statuses: Sendable {
        let events = Locked<[StatusEvent]>([])
        func record(_ event: Event) { if case .status(let status) = event { events.withLock { $0.append(status) } } }
        func count(_ source: String, _ state: StatusEvent.State) -> Int {
            events.withLock { $0 }.filter { $0.source == source && $0.state == state }.count
        }
    }

    /// An engine with a face stage (so video is read) and no speech stage, and the daemon's
    /// supervisor over `source`, reopening with short delays.
    static func supervise(_ source: SourceSupervisor.Source, statuses: Statuses) -> Task<Void, Never> {
        var configuration = EngineConfiguration()
        configuration.liveClock = true
        let engine = Engine(stages: EngineStages(makeSegmenter: { EnergySegmenter() }, speech: nil, faces: ScriptedFaceAnalyser(), fusion: nil),
                            configuration: configuration, emit: statuses.record)
        let supervisor = SourceSupervisor(source: source, engine: engine, reopen: true, logger: Logger(label: "guest"),
                                          backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1), stable: .milliseconds(500)))
        return Task { await supervisor.run() }
    }

    /// Writes `device` to a platform driver's `unbind` or `bind` file.
    static func platform(_ driver: String, _ action: String, _ device: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "/sys/bus/platform/drivers/\(driver)/\(action)"))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(device.utf8))
    }

    /// Waits until `condition` holds, for at most `seconds`.
    static func wait(_ seconds: Double, _ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline else { throw GuestTimeout(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct GuestTimeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    @Test("vivid unplugged and plugged back 50 times under capture: lost, reconnecting, running each time; frames resume; no crash")
    func cameraUnplugged() async throws {
        let device = try #require(V4L2DeviceList.captureDevices().first { $0.driver == "vivid" }, "no vivid device")
        let camera = V4L2Capture(path: device.path, preferences: .init(width: 320, height: 240, framesPerSecond: 30))
        let statuses = Statuses()
        let task = Self.supervise(.video(camera), statuses: statuses)
        defer { task.cancel() }
        let cycles = 50
        for cycle in 1...cycles {
            let before = camera.statistics.framesCaptured
            try await Self.wait(20, "frames after replug \(cycle - 1)") { camera.statistics.framesCaptured >= before + 5 }
            try Self.platform("vivid", "unbind", "vivid.0")
            try await Self.wait(20, "lost after unplug \(cycle)") { statuses.count("video", .lost) >= cycle }
            try Self.platform("vivid", "bind", "vivid.0")
            try await Self.wait(20, "the device node after replug \(cycle)") { FileManager.default.fileExists(atPath: device.path) }
        }
        let before = camera.statistics.framesCaptured
        try await Self.wait(20, "frames after the last replug") { camera.statistics.framesCaptured >= before + 5 }
        print("camera unplugged \(cycles) times: lost \(statuses.count("video", .lost)), reconnecting \(statuses.count("video", .reconnecting)), "
              + "running \(statuses.count("video", .running)), \(camera.statistics.framesCaptured) frames")
        #expect(statuses.count("video", .lost) >= cycles && statuses.count("video", .reconnecting) >= cycles)
        #expect(statuses.count("video", .running) >= cycles + 1, "reopened after every unplug")
        #expect(statuses.count("video", .stopped) == 0, "never given up")
    }

    /// ffmpeg playing a tone into the loopback card's playback side, which its capture side
    /// (what merd reads) gives back: the capture side has nothing while nothing plays. It
    /// exits when the card goes away.
    static func startTone() -> pid_t {
        // The two sides of a loopback run in one format: merd's (float, mono, 48 kHz), whichever opens first.
        let arguments = ["/usr/bin/ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                         "-c:a", "pcm_f32le", "-ac", "1", "-ar", "48000", "-f", "alsa", "hw:Loopback,0,0"]
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { return -1 }
        return pid
    }

    static func stop(_ pid: pid_t) {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    @Test("snd-aloop's card removed and re-added under capture 20 times: lost, reconnecting, running; audio resumes; no crash")
    func soundCardRemoved() async throws {
        var tone = Self.startTone()
        defer { Self.stop(tone) }
        let microphone = ALSACapture(device: "hw:Loopback,1,0")
        let statuses = Statuses()
        let task = Self.supervise(.audio(microphone), statuses: statuses)
        defer { task.cancel() }
        let cycles = 20
        for cycle in 1...cycles {
            let before = microphone.statistics.framesCaptured
            do {
                try await Self.wait(20, "audio after re-adding \(cycle - 1)") { microphone.statistics.framesCaptured >= before + 4800 }
            } catch {
                let cards = (try? String(contentsOfFile: "/proc/asound/cards", encoding: .utf8)) ?? "-"
                print("no audio: statuses \(statuses.events.withLock { $0 }.map { "\($0.source) \($0.state) \($0.detail)" }), "
                      + "negotiated \(microphone.negotiatedFormat ?? "-"), \(microphone.statistics), tone \(tone) alive \(kill(tone, 0) == 0), cards \(cards)")
                throw error
            }
            try Self.platform("snd_aloop", "unbind", "snd_aloop.0")
            try await Self.wait(20, "lost after removal \(cycle)") { statuses.count("audio", .lost) >= cycle }
            Self.stop(tone)
            try Self.platform("snd_aloop", "bind", "snd_aloop.0")
            try await Self.wait(20, "the card after re-adding \(cycle)") { FileManager.default.fileExists(atPath: "/proc/asound/Loopback") }
            tone = Self.startTone()
        }
        let before = microphone.statistics.framesCaptured
        try await Self.wait(20, "audio after the last re-add") { microphone.statistics.framesCaptured >= before + 4800 }
        print("sound card removed \(cycles) times: lost \(statuses.count("audio", .lost)), reconnecting \(statuses.count("audio", .reconnecting)), "
              + "running \(statuses.count("audio", .running)), \(microphone.statistics.framesCaptured) frames")
        #expect(statuses.count("audio", .lost) >= cycles && statuses.count("audio", .reconnecting) >= cycles)
        #expect(statuses.count("audio", .running) >= cycles + 1)
        #expect(statuses.count("audio", .stopped) == 0)
    }
}
