import CaptureV4L2
import Foundation
import MediaTypes
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real V4L2 devices, inside the QEMU guest that `Tests/V4L2Guest/run` boots: `vivid`
/// (the kernel's virtual camera, YUYV among others) and `v4l2loopback` fed MJPEG by ffmpeg.
/// Outside the guest these are skipped; on the host only the error paths can run.
@Suite("V4L2 capture from real drivers (QEMU guest)", .serialized, .timeLimit(.minutes(1)),
       .enabled(if: ProcessInfo.processInfo.environment["MERD_V4L2_GUEST"] == "1"))
struct V4L2GuestTests {
    /// The first capture device whose driver is `driver`.
    static func device(_ driver: String) throws -> V4L2DeviceList.Device {
        try #require(V4L2DeviceList.captureDevices().first { $0.driver == driver }, "no \(driver) device")
    }

    static func take(_ count: Int, from capture: V4L2Capture) async throws -> [VideoFrame] {
        var frames: [VideoFrame] = []
        for try await frame in try capture.frames() {
            frames.append(frame)
            if frames.count == count { break }
        }
        return frames
    }

    /// Runs a program to its end with posix_spawn and waitpid. Foundation's Process waits on a
    /// run-loop socket pair, which the guest's minimal userland has been seen to refuse
    /// ("Could not create wakeup socket pair"), leaving the test waiting forever.
    static func spawnAndWait(_ arguments: [String]) -> Int32 {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }

    @Test("vivid: YUYV negotiated, frames converted to RGB, driver timestamps on the monotonic clock")
    func vivid() async throws {
        let device = try Self.device("vivid")
        #expect(device.formats.contains { $0.hasPrefix("YUYV") && $0.contains("640x480@") }, "\(device.formats)")
        let capture = V4L2Capture(path: device.path, preferences: .init(width: 640, height: 480, framesPerSecond: 30))
        let frames = try await Self.take(10, from: capture)
        #expect(capture.negotiatedFormat?.hasPrefix("YUYV 640x480") == true, "\(capture.negotiatedFormat ?? "-")")
        #expect(frames.count == 10 && frames.allSatisfy { $0.width == 640 && $0.height == 480 && $0.format == .rgb24 })
        // vivid draws colour bars: the picture is not flat.
        let first = frames[0].bytes
        #expect(Set(stride(from: 0, to: first.count, by: 3 * 97).map { first[$0] }).count > 4)
        for (a, b) in zip(frames, frames.dropFirst()) { #expect(b.time > a.time) }
        #expect(abs((MediaTime.now() - frames.last!.time).seconds) < 2, "driver stamps on CLOCK_MONOTONIC")
    }

    @Test("v4l2loopback fed by ffmpeg: MJPEG negotiated and decoded")
    func loopbackMJPEG() async throws {
        let device = try Self.device("v4l2 loopback")
        let capture = V4L2Capture(path: device.path, preferences: .init(width: 640, height: 480, framesPerSecond: 30))
        let frames = try await Self.take(10, from: capture)
        #expect(capture.negotiatedFormat?.hasPrefix("MJPG 640x480") == true, "\(capture.negotiatedFormat ?? "-")")
        #expect(frames.count == 10 && frames.allSatisfy { $0.width == 640 && $0.height == 480 })
        // v4l2loopback does not keep its writer off a buffer a reader holds, so under emulation
        // ffmpeg can refill one while it is decoded (one decode error in about a dozen runs here; the
        // guest loads the module with 8 buffers to make it rarer). A torn frame is counted and
        // skipped, never delivered; a broken decoder would fail every frame, not one in ten.
        #expect(capture.statistics.decodeErrors <= 1, "decode errors: \(capture.statistics.decodeErrors)")
        // Stopped, the device is free again: a second stream opens it anew.
        let again = try await Self.take(3, from: capture)
        #expect(again.count == 3 && again[0].time > frames.last!.time)
    }

    @Test("a slow consumer gets the newest frames, older ones dropped and counted")
    func latestWins() async throws {
        let device = try Self.device("vivid")
        let capture = V4L2Capture(path: device.path, preferences: .init(width: 320, height: 240, framesPerSecond: 30, bufferedFrames: 1))
        var frames: [VideoFrame] = []
        for try await frame in try capture.frames() {
            frames.append(frame)
            try await Task.sleep(for: .milliseconds(200))
            if frames.count == 4 { break }
        }
        #expect(capture.statistics.framesDropped > 0)
        #expect(abs((MediaTime.now() - frames.last!.time).seconds) < 0.5, "the frame delivered is a recent one")
    }

    @Test("a disconnected device ends the stream with CaptureError.lost")
    func disconnect() async throws {
        let device = try Self.device("vivid")
        let capture = V4L2Capture(path: device.path, preferences: .init(width: 320, height: 240, framesPerSecond: 30))
        var received = 0
        do {
            for try await _ in try capture.frames() {
                received += 1
                if received == 3 {
                    // vivid's "Disconnect" control simulates unplugging (v4l-utils' v4l2-ctl).
                    #expect(Self.spawnAndWait(["/usr/bin/v4l2-ctl", "-d", device.path, "-c", "disconnect=1"]) == 0)
                }
                if received > 300 { break }
            }
            Issue.record("the stream went on after the disconnect")
        } catch let error as CaptureError {
            guard case .lost = error else {
                Issue.record("expected lost, got \(error)")
                return
            }
        }
    }
}
