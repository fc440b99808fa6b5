import CFFmpeg
import CV4L2
import MediaCodec
import MediaTypes

/// Turns one V4L2 buffer into an RGB frame: MJPEG through libavcodec, raw YUYV and NV12
/// wrapped as an AVFrame without copying; both then through libswscale.
///
/// - Important: `@unchecked Sendable` because it is made by `frames()` and then used by the
///   capture thread alone; its FFmpeg contexts are never touched from two threads.
final class FrameDecoder: @unchecked Sendable {
    private let format: V4L2Device.Negotiated
    private let source: String
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private let converter = VideoFrameConverter()

    init(format: V4L2Device.Negotiated, source: String) throws(CaptureError) {
        self.format = format
        self.source = source
        try FFmpegLibraries.open(.avutil, .avcodec, .swscale, for: source)
        FFmpegLogging.quiet()
        frame = av_frame_alloc()
        if format.fourcc == merd_V4L2_PIX_FMT_MJPEG || format.fourcc == merd_V4L2_PIX_FMT_JPEG {
            guard let decoder = avcodec_find_decoder(AV_CODEC_ID_MJPEG) else {
                throw .unsupportedFormat(source: source, detail: "this FFmpeg has no MJPEG decoder")
            }
            codec = avcodec_alloc_context3(decoder)
            packet = av_packet_alloc()
            guard let codec, avcodec_open2(codec, decoder, nil) >= 0 else {
                throw .failed(source: source, reason: "cannot open the MJPEG decoder")
            }
        }
    }

    deinit {
        avcodec_free_context(&codec)
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// The frame in `bytes` bytes at `data`, or nil when it cannot be decoded (a torn JPEG).
    func decode(_ data: UnsafeMutableRawPointer, bytes: Int, time: MediaTime) -> VideoFrame? {
        guard let frame, bytes > 0 else { return nil }
        if let codec, let packet {
            packet.pointee.data = data.assumingMemoryBound(to: UInt8.self)
            packet.pointee.size = Int32(bytes)
            defer { packet.pointee.data = nil; packet.pointee.size = 0 }
            guard avcodec_send_packet(codec, packet) >= 0, avcodec_receive_frame(codec, frame) >= 0 else { return nil }
            defer { av_frame_unref(frame) }
            return try? converter.rgb(frame, time: time)
        }
        // Raw formats: point an AVFrame at the buffer.
        let base = data.assumingMemoryBound(to: UInt8.self)
        frame.pointee.width = Int32(format.width)
        frame.pointee.height = Int32(format.height)
        if format.fourcc == merd_V4L2_PIX_FMT_YUYV {
            guard bytes >= format.bytesPerLine * format.height else { return nil }
            frame.pointee.format = AV_PIX_FMT_YUYV422.rawValue
            frame.pointee.data.0 = base
            frame.pointee.linesize.0 = Int32(format.bytesPerLine)
        } else {
            let lumaBytes = format.bytesPerLine * format.height
            guard bytes >= lumaBytes + lumaBytes / 2 else { return nil }
            frame.pointee.format = AV_PIX_FMT_NV12.rawValue
            frame.pointee.data.0 = base
            frame.pointee.data.1 = base + lumaBytes
            frame.pointee.linesize.0 = Int32(format.bytesPerLine)
            frame.pointee.linesize.1 = Int32(format.bytesPerLine)
        }
        defer { frame.pointee.data.0 = nil; frame.pointee.data.1 = nil }
        return try? converter.rgb(frame, time: time)
    }
}
