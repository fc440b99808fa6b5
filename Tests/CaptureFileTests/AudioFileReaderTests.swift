import CaptureFile
import Foundation
import MediaTypes
import TestSupport
import Testing

typealias SharedData = TestPaths

extension TestPaths {
    static func path(_ relative: String) -> String { sharedData(relative) }
}

@Suite("Decoding audio files through FFmpeg")
struct AudioFileReaderTests {
    @Test("a WAV file decodes to its PCM samples exactly")
    func wav() throws {
        let path = SharedData.path("emodb/wav/03a01Fa.wav")
        let reader = try AudioFileReader(path: path)
        #expect(reader.sampleRate == 22050 && reader.channels == 1)
        let samples = try reader.readAll()
        #expect(samples.count == 44100)  // EmoDB's copy: every file exactly 2.000 s
        // The same samples read by hand from the RIFF data chunk: S16 little-endian / 32768.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let dataStart = Self.dataChunkOffset(bytes)
        let expected = (0..<44100).map { i in
            Float(Int16(bitPattern: UInt16(bytes[dataStart + 2 * i]) | UInt16(bytes[dataStart + 2 * i + 1]) << 8)) / 32768
        }
        #expect(samples == expected)
    }

    static func dataChunkOffset(_ bytes: [UInt8]) -> Int {
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if id == "data" { return offset + 8 }
            offset += 8 + size + (size & 1)
        }
        return -1
    }

    @Test("the MP2 track of an MPEG-1 video decodes with its rate, channels and length")
    func mpeg() throws {
        let reader = try AudioFileReader(path: SharedData.path("grid/id2_vcd_swwp2s.mpg"))
        #expect(reader.sampleRate == 44100 && reader.channels == 2)
        var chunks = 0, frames = 0
        while let chunk = try reader.nextChunk() {
            // Stamped from the running sample count, so no rounding accumulates.
            #expect(chunk.time == MediaTime.zero.advanced(bySamples: frames, sampleRate: 44100), "chunks are contiguous in time")
            chunks += 1
            frames += chunk.frameCount
        }
        #expect(chunks > 10)
        #expect(abs(Double(frames) / 44100 - 3.0) < 0.1, "\(frames) frames")
        #expect(try reader.nextChunk() == nil)
    }

    @Test("a missing file and a file that is not media give clear errors")
    func errors() throws {
        #expect(throws: CaptureError.notFound(source: "/nonexistent/a.wav")) { try AudioFileReader(path: "/nonexistent/a.wav") }
        let text = NSTemporaryDirectory() + "merd-not-media-\(UUID().uuidString).wav"
        try Data("this is not audio".utf8).write(to: URL(fileURLWithPath: text))
        defer { try? FileManager.default.removeItem(atPath: text) }
        let error = #expect(throws: CaptureError.self) { try AudioFileReader(path: text) }
        #expect(error?.description.contains(text) == true)
    }
}

