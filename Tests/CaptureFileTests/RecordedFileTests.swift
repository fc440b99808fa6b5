import CaptureFile
import Foundation
import MediaTypes
import TestSupport
import Testing

/// Clips made by the ffmpeg command in a scratch directory, once per test run.
enum Clips {
    static let directory: String = {
        let path = NSTemporaryDirectory() + "merd-clips-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// 2 s of a red 320×240 picture at 25 fps with a 440 Hz tone at 48 kHz, in `codec`.
    static func make(_ name: String, video: [String], audio: [String]) throws -> String {
        let path = directory + "/" + name
        if FileManager.default.fileExists(atPath: path) { return path }
        var arguments = ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25", "-f", "lavfi",
                         "-i", "sine=frequency=440:sample_rate=48000", "-t", "2"]
        arguments += video.isEmpty ? ["-vn"] : video
        arguments += audio
        // Written under a temporary name and renamed: tests running at once never see half a clip.
        let partial = directory + "/partial-\(UUID().uuidString)-" + name
        arguments.append(partial)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        if rename(partial, path) != 0 { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    static func h264() throws -> String { try make("clip.mp4", video: ["-c:v", "libx264", "-pix_fmt", "yuv420p"], audio: ["-c:a", "aac"]) }
    static func mjpeg() throws -> String { try make("clip.avi", video: ["-c:v", "mjpeg", "-q:v", "3"], audio: ["-c:a", "pcm_s16le"]) }
    static func vp9() throws -> String {
        try make("clip.webm", video: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"], audio: ["-c:a", "libopus"])
    }
    static func wav() throws -> String { try make("clip.wav", video: [], audio: ["-c:a", "pcm_s16le"]) }
}

@Suite("Recorded files as sources")
struct RecordedFileTests {
    @Test("GRID clip: 75 frames of 360×288 at 25 fps and 3 s of audio, on one timeline")
    func grid() async throws {
        let file = RecordedFile(path: TestPaths.sharedData("grid/bbaf2n.mpg"), pacing: .asFastAsPossible)
        var frames: [VideoFrame] = []
        for try await frame in try file.video.frames() { frames.append(frame) }
        #expect(frames.count == 75)
        #expect(frames.allSatisfy { $0.width == 360 && $0.height == 288 && $0.format == .rgb24 && $0.bytes.count == 360 * 288 * 3 })
        for (i, frame) in frames.enumerated() { #expect(abs(frame.time.seconds - Double(i) * 0.04) < 0.002, "frame \(i) at \(frame.time)") }
        var audioFrames = 0
        var firstAudio: MediaTime?
        for try await chunk in try file.audio.chunks() {
            firstAudio = firstAudio ?? chunk.time
            audioFrames += chunk.frameCount
            #expect(chunk.sampleRate == 44100 && chunk.channels == 2)
        }
        #expect(abs(Double(audioFrames) / 44100 - 2.95) < 0.06, "\(audioFrames) audio frames")
        #expect(firstAudio!.seconds < 0.1, "audio starts with the video")
    }

    @Test("h264/mp4, mjpeg/avi, vp9/webm: every frame, red, on time; their audio too", arguments: ["mp4", "avi", "webm"])
    func codecs(container: String) async throws {
        let makers: [String: () throws -> String] = ["mp4": Clips.h264, "avi": Clips.mjpeg, "webm": Clips.vp9]
        let path = try makers[container]!()
        let file = RecordedFile(path: path, pacing: .asFastAsPossible)
        var frames = 0
        var lastTime = -1.0
        for try await frame in try file.video.frames() {
            #expect(frame.width == 320 && frame.height == 240)
            #expect(frame.time.seconds > lastTime, "presentation times increase")
            lastTime = frame.time.seconds
            // Red through a lossy codec and YUV: R high, G and B low.
            let center = 3 * (120 * 320 + 160)
            let (r, g, b) = (frame.bytes[center], frame.bytes[center + 1], frame.bytes[center + 2])
            #expect(r > 200 && g < 60 && b < 60, "pixel \(r),\(g),\(b)")
            frames += 1
        }
        #expect(frames == 50, "\(container): \(frames) frames")
        var samples = 0
        for try await chunk in try file.audio.chunks() { samples += chunk.frameCount }
        #expect(abs(Double(samples) / 48000 - 2) < 0.05, "\(container): \(samples) audio frames")
    }

    @Test("audio-only wav: an audio source, and a clear error for its video")
    func audioOnly() async throws {
        let file = RecordedFile(path: try Clips.wav(), pacing: .asFastAsPossible)
        var samples = 0
        for try await chunk in try file.audio.chunks() { samples += chunk.frameCount }
        #expect(samples == 96000)
        let error = #expect(throws: CaptureError.self) { _ = try file.video.frames() }
        #expect(error?.description.contains("no video stream") == true, "\(String(describing: error))")
    }

    @Test("truncated and garbage files end early or fail cleanly, never crash")
    func damaged() async throws {
        let directory = Clips.directory
        for (name, source) in [("cut.avi", try Clips.mjpeg()), ("cut.mp4", try Clips.h264()), ("cut.webm", try Clips.vp9()),
                               ("cut.mpg", TestPaths.sharedData("grid/bbaf2n.mpg"))] {
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            for fraction in [0.1, 0.5, 0.9] {
                let path = directory + "/\(fraction)-" + name
                try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: path))
                let file = RecordedFile(path: path, pacing: .asFastAsPossible)
                do {
                    var frames = 0
                    for try await _ in try file.video.frames() { frames += 1 }
                    #expect(frames <= 75, "\(name) cut at \(fraction)")
                } catch let error as CaptureError {
                    #expect(error.description.contains(path))
                }
            }
        }
        var random = SeededGenerator(seed: 4)
        let garbage = directory + "/garbage.mp4"
        try Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: URL(fileURLWithPath: garbage))
        let error = #expect(throws: CaptureError.self) { _ = try RecordedFile(path: garbage, pacing: .asFastAsPossible).video.frames() }
        #expect(error?.description.contains(garbage) == true)
        #expect(throws: CaptureError.notFound(source: "/nonexistent.mp4")) {
            _ = try RecordedFile(path: "/nonexistent.mp4", pacing: .realTime).audio.chunks()
        }
    }

    @Test("a truncated recording says so once its streams end; a whole one does not", arguments: ["mpg", "mkv", "ts"])
    func damageReport(_ container: String) async throws {
        // The GRID clip as is (mpg), or re-muxed into Matroska and MPEG-TS by the ffmpeg command.
        let whole: String
        if container == "mpg" {
            whole = TestPaths.sharedData("grid/bbaf2n.mpg")
        } else {
            whole = Clips.directory + "/whole.\(container)"
            let codecs = container == "mkv" ? ["-c:v", "mpeg4", "-c:a", "aac"] : ["-c:v", "mpeg2video", "-c:a", "mp2"]
            _ = try ProcessOutput.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", TestPaths.sharedData("grid/bbaf2n.mpg")] + codecs + [whole])
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = Clips.directory + "/truncated.\(container)"
        try data.prefix(data.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        for (path, damaged) in [(whole, false), (cut, true)] {
            let file = RecordedFile(path: path, pacing: .asFastAsPossible)
            var samples = 0
            for try await chunk in try file.audio.chunks() { samples += chunk.frameCount }
            #expect(samples > 0)
            if damaged {
                let report = try #require(file.damageReport, "\(path)")
                #expect(report.hasPrefix("audio: ") && report.contains("truncated or damaged"), "\(report)")
            } else {
                #expect(file.damageReport == nil, "\(path): \(file.damageReport ?? "")")
            }
        }
    }

    @Test("real-time replay delivers each frame when it is due, audio and video on one clock")
    func realTime() async throws {
        let file = RecordedFile(path: TestPaths.sharedData("grid/bbaf2n.mpg"), pacing: .realTime)
        let started = MediaTime.now()
        var lateness: [Double] = []
        var frames = 0
        for try await frame in try file.video.frames() {
            lateness.append((MediaTime.now() - frame.time).seconds)
            frames += 1
            if frame.time.seconds - started.seconds >= 0.76 { break }  // 0.8 s of replay
        }
        let elapsed = (MediaTime.now() - started).seconds
        #expect(frames + file.droppedFrames >= 19, "every frame delivered or counted as dropped")
        #expect(elapsed > 0.7 && elapsed < 1.5, "0.76 s of video takes about 0.76 s: \(elapsed)")
        // Never early; late by at most a frame period (a later one replaces a frame due longer
        // ago), and typically by far less. The machine runs other tests meanwhile.
        #expect(lateness.allSatisfy { $0 >= -0.002 && $0 < 0.04 + 0.05 }, "delivered when due: \(lateness)")
        #expect(lateness.sorted()[lateness.count / 2] < 0.01, "median lateness \(lateness.sorted()[lateness.count / 2])")
        // The audio source of the same file starts on the same origin.
        for try await chunk in try file.audio.chunks() {
            #expect(abs((chunk.time - started).seconds) < 0.1, "first audio chunk at the replay's start")
            break
        }
    }
}
