import CFFmpeg
import Foundation

/// Writes RGB24 images as PNG through libavcodec's PNG encoder (pictures for docs and for
/// checking the face pipeline by eye).
public enum PNGEncoder {
    /// The PNG bytes of a packed RGB24 image.
    public static func encode(rgb: [UInt8], width: Int, height: Int) throws(VideoConversionError) -> [UInt8] {
        do { try FFmpegLibraries.open(.avutil, .avcodec) } catch { throw .unavailable(error) }
        FFmpegLogging.quiet()
        guard width > 0, height > 0, rgb.count == width * height * 3 else { throw .invalidFrame(width: width, height: height) }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else { throw .unsupportedPixelFormat("png (no encoder in this FFmpeg)") }
        var context = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&context) }
        guard let c = context else { throw .conversionFailed(0) }
        c.pointee.width = Int32(width)
        c.pointee.height = Int32(height)
        c.pointee.pix_fmt = AV_PIX_FMT_RGB24
        c.pointee.time_base = AVRational(num: 1, den: 1)
        guard avcodec_open2(c, codec, nil) >= 0 else { throw .unsupportedPixelFormat("rgb24 for png") }
        var frame = av_frame_alloc()
        defer { av_frame_free(&frame) }
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let f = frame, let p = packet else { throw .conversionFailed(0) }
        f.pointee.width = Int32(width)
        f.pointee.height = Int32(height)
        f.pointee.format = AV_PIX_FMT_RGB24.rawValue
        guard av_frame_get_buffer(f, 0) >= 0 else { throw .conversionFailed(0) }
        let stride = Int(f.pointee.linesize.0)
        rgb.withUnsafeBufferPointer { source in
            for y in 0..<height {
                (f.pointee.data.0! + y * stride).update(from: source.baseAddress! + y * width * 3, count: width * 3)
            }
        }
        guard avcodec_send_frame(c, f) >= 0, avcodec_send_frame(c, nil) >= 0 else { throw .conversionFailed(0) }
        var bytes: [UInt8] = []
        while avcodec_receive_packet(c, p) >= 0 {
            bytes += UnsafeBufferPointer(start: p.pointee.data, count: Int(p.pointee.size))
            av_packet_unref(p)
        }
        guard !bytes.isEmpty else { throw .conversionFailed(0) }
        return bytes
    }
}
