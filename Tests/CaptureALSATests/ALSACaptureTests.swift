import CaptureALSA
import Foundation
import MediaTypes
import Testing

/// Capture through real libasound without sound hardware: an ALSA `file` PCM whose `infile`
/// holds known raw samples, over a `null` slave, configured in-process (snd_config_load +
/// snd_pcm_open_lconf). The null slave is not paced, so reads return at once and the capture
/// thread runs far ahead of the test: the tests keep the oldest chunks (`.dropNewest`).
struct RawInput {
    enum Layout: String, CaseIterable, Sendable { case s16, s32, float }

    let layout: Layout
    let channels: Int
    let frames: Int
    /// The values each sample should decode to.
    let expected: [Float]
    let path: String

    init(layout: Layout, channels: Int, frames: Int) throws {
        self.layout = layout
        self.channels = channels
        self.frames = frames
        path = NSTemporaryDirectory() + "merd-alsa-\(UUID().uuidString).raw"
        var bytes: [UInt8] = []
        var expected: [Float] = []
        for i in 0..<(frames * channels) {
            // A different ramp per channel, covering the full range with both signs.
            let x = sin(Double(i / channels) * 0.01 + Double(i % channels)) * 0.9
            switch layout {
            case .s16:
                let v = Int16(x * 32767)
                withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
                expected.append(Float(v) / 32768)
            case .s32:
                let v = Int32(x * 2_147_483_000)
                withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
                expected.append(Float(v) / 2_147_483_648)
            case .float:
                let v = Float(x)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
                expected.append(v)
            }
        }
        self.expected = expected
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    var configuration: String {
        "pcm.merdtest { type file slave.pcm { type null } file \"/dev/null\" infile \"\(path)\" format \"raw\" }"
    }

    var format: ALSACapture.Preferences.Format {
        switch layout {
        case .s16: return .signed16
        case .s32: return .signed32
        case .float: return .float32
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The first `frames` frames of a stream, then stops it.
func collect(_ capture: ALSACapture, frames: Int) async throws -> [AudioChunk] {
    var chunks: [AudioChunk] = []
    var total = 0
    for try await chunk in try capture.chunks() {
        chunks.append(chunk)
        total += chunk.frameCount
        if total >= frames { break }
    }
    return chunks
}

@Suite("ALSA capture through a file PCM")
struct ALSACaptureTests {
    @Test("delivers the file's samples in every format, mono and stereo, 44.1 and 48 kHz",
          arguments: RawInput.Layout.allCases, [(44100, 1), (48000, 2)])
    func samples(layout: RawInput.Layout, format: (Int, Int)) async throws {
        let (rate, channels) = format
        let input = try RawInput(layout: layout, channels: channels, frames: rate / 2)
        defer { input.remove() }
        let capture = ALSACapture(device: "merdtest",
                                  preferences: .init(sampleRate: rate, channels: channels, format: input.format, periodMilliseconds: 20,
                                                     overflow: .dropNewest),
                                  configuration: input.configuration)
        let before = MediaTime.now()
        let chunks = try await collect(capture, frames: input.frames)
        let after = MediaTime.now()
        let negotiated = try #require(capture.negotiated)
        #expect(negotiated.sampleRate == rate && negotiated.channels == channels)
        #expect(negotiated.format == ["s16": "S16_LE", "s32": "S32_LE", "float": "FLOAT_LE"][layout.rawValue])
        let samples = Array(chunks.flatMap(\.samples).prefix(input.expected.count))
        #expect(samples.count == input.expected.count)
        let mismatch = zip(samples, input.expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(mismatch == nil, "first mismatch at sample \(mismatch?.offset ?? -1): got \(mismatch?.element.0 ?? 0), expected \(mismatch?.element.1 ?? 0)")
        // Chunks are one period each, and their times follow the sample count exactly.
        let first = chunks[0].time
        var framesBefore = 0
        for chunk in chunks {
            #expect(chunk.sampleRate == rate && chunk.channels == channels)
            #expect(chunk.frameCount == negotiated.periodFrames)
            #expect(chunk.time == first.advanced(bySamples: framesBefore, sampleRate: rate))
            framesBefore += chunk.frameCount
        }
        #expect(abs(negotiated.periodFrames - rate / 50) <= rate / 500, "20 ms periods: \(negotiated.periodFrames)")
        // Stamped on the monotonic clock: the first chunk's start lies between the moment
        // capture was asked for (less one period, which it spans) and the moment it arrived.
        #expect(first.seconds >= before.seconds - 0.05 && first <= after, "\(before) ≤ \(first) ≤ \(after)")
        #expect(capture.statistics.framesCaptured >= input.frames)
    }

    @Test("a device offering no usable format is refused with what it lacks")
    func unsupportedFormat() throws {
        // The linear plugin takes integer PCM only: asking it for float alone must fail.
        let configuration = "pcm.intonly { type linear slave { pcm { type null } format S16_LE } }"
        let capture = ALSACapture(device: "intonly", preferences: .init(format: .float32), configuration: configuration)
        let error = #expect(throws: CaptureError.self) { _ = try capture.chunks() }
        guard case .unsupportedFormat(let source, let detail) = error else {
            Issue.record("expected unsupportedFormat, got \(String(describing: error))")
            return
        }
        #expect(source == "alsa:intonly" && detail.contains("FLOAT_LE"))
    }

    @Test("an unknown device name is not found, and says how to list devices")
    func unknownDevice() throws {
        let capture = ALSACapture(device: "nosuchpcm", configuration: "pcm.other { type null }")
        let error = #expect(throws: CaptureError.self) { _ = try capture.chunks() }
        #expect(error == .notFound(source: "alsa:nosuchpcm"))
        #expect(error?.description.contains("merd devices") == true)
        let hardware = ALSACapture(device: "hw:77,0")
        #expect(throws: CaptureError.self) { _ = try hardware.chunks() }
    }

    @Test("invalid configuration text is an error, not a crash")
    func badConfiguration() throws {
        let capture = ALSACapture(device: "x", configuration: "pcm.x { type file slave.pcm {")
        let error = #expect(throws: CaptureError.self) { _ = try capture.chunks() }
        #expect(error?.description.contains("invalid ALSA configuration") == true)
    }

    @Test("a stopped consumer stops the capture thread and the device can be reopened")
    func reopen() async throws {
        let input = try RawInput(layout: .s16, channels: 1, frames: 8000)
        defer { input.remove() }
        let capture = ALSACapture(device: "merdtest", preferences: .init(sampleRate: 16000, channels: 1, format: .signed16, overflow: .dropNewest),
                                  configuration: input.configuration)
        let first = try await collect(capture, frames: 1000)
        let second = try await collect(capture, frames: 1000)
        #expect(Array(first.flatMap(\.samples).prefix(1000)) == Array(second.flatMap(\.samples).prefix(1000)), "reopened from the start of the file")
    }
}

@Suite("ALSA capture never waits for a slow consumer")
struct ALSABackpressureTests {
    @Test("a consumer that falls behind loses the oldest chunks, counted, and the stream goes on")
    func dropsCounted() async throws {
        let input = try RawInput(layout: .s16, channels: 1, frames: 16000)
        defer { input.remove() }
        let capture = ALSACapture(device: "merdtest", preferences: .init(sampleRate: 16000, channels: 1, format: .signed16, bufferedChunks: 4),
                                  configuration: input.configuration)
        var received = 0
        for try await _ in try capture.chunks() {
            received += 1
            try await Task.sleep(for: .milliseconds(20))  // far slower than the unpaced device
            if received == 5 { break }
        }
        #expect(capture.statistics.droppedChunks > 0)
        #expect(capture.statistics.framesCaptured > 5 * 320)
    }
}
