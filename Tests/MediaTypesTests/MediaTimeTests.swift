import MediaTypes
import Testing

@Suite("Capture clock")
struct MediaTimeTests {
    @Test("sample offsets are exact over long streams")
    func sampleArithmetic() {
        let start = MediaTime(nanoseconds: 5)
        // A week at 44.1 kHz: a running Double sum would have drifted by now.
        let week = 7 * 24 * 3600 * 44_100
        #expect(start.advanced(bySamples: week, sampleRate: 44_100).nanoseconds == 5 + 7 * 24 * 3600 * 1_000_000_000)
        #expect(start.advanced(bySamples: 1, sampleRate: 16_000).nanoseconds == 5 + 62_500)
        #expect(start.advanced(bySamples: 0, sampleRate: 8_000) == start)
    }

    @Test("the monotonic clock never goes back")
    func monotonic() {
        var previous = MediaTime.now()
        for _ in 0..<1000 {
            let now = MediaTime.now()
            #expect(now >= previous)
            previous = now
        }
        #expect(previous.nanoseconds > 0)
    }

    @Test("seconds, durations and text")
    func conversions() {
        let t = MediaTime(seconds: 12.48)
        #expect(t.nanoseconds == 12_480_000_000 && t.seconds == 12.48)
        #expect((MediaTime(seconds: 15.91) - t) == MediaDuration(milliseconds: 3430))
        #expect(t + MediaDuration(seconds: 0.5) == MediaTime(seconds: 12.98))
        #expect(t.description == "12.48s")
    }
}

@Suite("Audio chunks and video frames")
struct MediaBufferTests {
    @Test("an audio chunk knows its frames and end time")
    func audioChunk() {
        let chunk = AudioChunk(samples: [Float](repeating: 0, count: 2 * 480), sampleRate: 48_000, channels: 2,
                               time: MediaTime(seconds: 1))
        #expect(chunk.frameCount == 480)
        #expect(chunk.endTime == MediaTime(seconds: 1.01))
        #expect(chunk.duration == MediaDuration(milliseconds: 10))
    }

    @Test("packed frames of every format lay out their planes", arguments: PixelFormat.allCases)
    func packedFrame(format: PixelFormat) throws {
        let (width, height) = (5, 3)  // odd: chroma sizes round up
        let bytes = [UInt8](repeating: 7, count: format.packedByteCount(width: width, height: height))
        let frame = try VideoFrame(packed: bytes, width: width, height: height, format: format, time: .zero)
        #expect(frame.rowStrides.count == format.planeCount)
        let expectedOffsets: [Int] = switch format {
        case .yuv420p: [0, 15, 15 + 6]
        default: [0]
        }
        #expect(frame.planeOffsets == expectedOffsets)
    }

    @Test("a frame whose buffer is too small, or whose stride is short, is refused")
    func badFrames() {
        #expect(throws: VideoFrameError.bufferTooSmall(needed: 4 * 4 * 3, found: 10)) {
            try VideoFrame(packed: [UInt8](repeating: 0, count: 10), width: 4, height: 4, format: .rgb24, time: .zero)
        }
        #expect(throws: VideoFrameError.strideTooSmall(plane: 0, stride: 3, rowBytes: 12)) {
            try VideoFrame(width: 4, height: 4, format: .rgb24, bytes: [UInt8](repeating: 0, count: 48),
                           rowStrides: [3], planeOffsets: [0], time: .zero)
        }
        #expect(throws: VideoFrameError.badSize(width: 0, height: 4)) {
            try VideoFrame(packed: [], width: 0, height: 4, format: .gray8, time: .zero)
        }
        #expect(throws: VideoFrameError.planeCount(expected: 3, found: 1)) {
            try VideoFrame(width: 2, height: 2, format: .yuv420p, bytes: [UInt8](repeating: 0, count: 6),
                           rowStrides: [2], planeOffsets: [0], time: .zero)
        }
    }

    @Test("padded row strides are accepted when every row fits")
    func paddedStride() throws {
        // 4 rows of 12 bytes in a 16-byte stride: the last row needs only 12.
        let frame = try VideoFrame(width: 4, height: 4, format: .rgb24, bytes: [UInt8](repeating: 0, count: 16 * 3 + 12),
                                   rowStrides: [16], planeOffsets: [0], time: .zero)
        #expect(frame.rowStrides == [16])
    }

    @Test("grey from RGB uses BT.601 weights; from YUV it is the Y plane")
    func grayscale() throws {
        let rgb = try VideoFrame(packed: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255], width: 2, height: 2, format: .rgb24, time: .zero)
        #expect(rgb.grayscale().bytes == [76, 150, 29, 255])
        let bgr = try VideoFrame(packed: [0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255], width: 2, height: 2, format: .bgr24, time: .zero)
        #expect(bgr.grayscale().bytes == [76, 150, 29, 255])
        let yuyv = try VideoFrame(packed: [10, 128, 20, 128, 30, 128, 40, 128], width: 2, height: 2, format: .yuyv422, time: .zero)
        #expect(yuyv.grayscale().bytes == [10, 20, 30, 40] && yuyv.grayscale().format == .gray8)
    }

    @Test("capture errors say what to do")
    func captureErrors() {
        #expect(CaptureError.notFound(source: "alsa:hw:9").description.contains("merd devices"))
        #expect(CaptureError.lost(source: "/dev/video0", reason: "ENODEV").description.contains("reopened"))
    }
}
