import CaptureFile
import Foundation
import MediaCodec
import Testing

@Suite("PNG pictures through libavcodec")
struct PNGEncoderTests {
    @Test("an encoded PNG decodes back to the same pixels through FFmpeg")
    func roundTrip() throws {
        let (width, height) = (37, 23)
        let rgb: [UInt8] = (0..<(width * height * 3)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 7 + i / 3) }
        let png = try PNGEncoder.encode(rgb: rgb, width: width, height: height)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merd-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(png).write(to: URL(fileURLWithPath: path))
        let frame = try #require(try VideoFileReader(path: path).nextFrame())
        #expect(frame.width == width && frame.height == height && frame.bytes == rgb)
    }

    @Test("a buffer of the wrong size is refused")
    func wrongSize() {
        #expect(throws: VideoConversionError.invalidFrame(width: 4, height: 4)) { try PNGEncoder.encode(rgb: [0, 0, 0], width: 4, height: 4) }
    }
}
