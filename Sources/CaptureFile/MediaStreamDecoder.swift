import CFFmpeg
import MediaCodec
import MediaTypes

/// Demuxes a file and decodes its best stream of one kind (audio or video): libavformat
/// reads packets, libavcodec decodes them, and each frame comes with its presentation time
/// in seconds from the container's start (so audio and video share one timeline).
///
/// Damaged packets are skipped, as players do, and counted; a truncated file ends early, and
/// `damage` says so. The decoder is used from one task or thread at a time.
final class MediaStreamDecoder {
    let path: String
    let streamIndex: Int32
    let codec: UnsafeMutablePointer<AVCodecContext>
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private let packet: UnsafeMutablePointer<AVPacket>
    let frame: UnsafeMutablePointer<AVFrame>
    private let timeBase: Double
    private let containerStart: Double
    private var draining = false
    private(set) var finished = false
    /// Packets the demuxer marked corrupt (of any stream) or the decoder rejected, and how
    /// reading ended if not at a clean end of file: what a truncated or damaged file shows.
    private(set) var damage = StreamDamage()

    init(path: String, kind: AVMediaType) throws(CaptureError) {
        self.path = path
        try FFmpegLibraries.open(.avutil, .avcodec, .avformat, for: path)
        FFmpegLogging.quiet()
        var format: UnsafeMutablePointer<AVFormatContext>?
        let opened = avformat_open_input(&format, path, nil, nil)
        guard opened >= 0, let format else {
            switch opened {
            case -2 /* AVERROR(ENOENT) */: throw .notFound(source: path)
            case -13 /* AVERROR(EACCES) */, -16 /* AVERROR(EBUSY) */: throw .unavailable(source: path, reason: ffmpegMessage(opened))
            default: throw .unsupportedFormat(source: path, detail: "not a media file FFmpeg can read (\(ffmpegMessage(opened)))")
            }
        }
        self.format = format
        FFmpegLogging.watch(format)
        var context: UnsafeMutablePointer<AVCodecContext>?
        var packet: UnsafeMutablePointer<AVPacket>?
        var frame: UnsafeMutablePointer<AVFrame>?
        do throws(CaptureError) {
            let found = avformat_find_stream_info(format, nil)
            guard found >= 0 else { throw .unsupportedFormat(source: path, detail: "cannot read its streams (\(ffmpegMessage(found)))") }
            var decoder: UnsafePointer<AVCodec>?
            let index = av_find_best_stream(format, kind, -1, -1, &decoder, 0)
            let noun = kind == AVMEDIA_TYPE_AUDIO ? "audio" : "video"
            if index == AVError.streamNotFound { throw .noStream(source: path, kind: noun) }
            guard index >= 0, let decoder else {
                throw .unsupportedFormat(source: path, detail: "no decoder for its \(noun) (\(ffmpegMessage(index)))")
            }
            streamIndex = index
            context = avcodec_alloc_context3(decoder)
            guard let context else { throw .failed(source: path, reason: "out of memory") }
            let stream = format.pointee.streams[Int(index)]!
            var status = avcodec_parameters_to_context(context, stream.pointee.codecpar)
            context.pointee.thread_count = 1  // the engine schedules its own threads
            if status >= 0 { status = avcodec_open2(context, decoder, nil) }
            guard status >= 0 else { throw .unsupportedFormat(source: path, detail: "cannot open the \(noun) decoder (\(ffmpegMessage(status)))") }
            timeBase = Double(stream.pointee.time_base.num) / Double(stream.pointee.time_base.den)
            let start = format.pointee.start_time
            containerStart = start == Int64.min /* AV_NOPTS_VALUE */ ? 0 : Double(start) / Double(AV_TIME_BASE)
            packet = av_packet_alloc()
            frame = av_frame_alloc()
            guard packet != nil, frame != nil else { throw .failed(source: path, reason: "out of memory") }
        } catch {
            avcodec_free_context(&context)
            av_packet_free(&packet)
            av_frame_free(&frame)
            avformat_close_input(&self.format)
            throw error
        }
        codecContext = context
        codec = context!
        self.packet = packet!
        self.frame = frame!
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&codecContext)
        if let format { FFmpegLogging.unwatch(format) }
        avformat_close_input(&format)
    }

    /// Decodes the next frame into `frame` and returns its time in seconds from the start of
    /// the file (nil when its timestamp is missing), or false at the end of the stream.
    /// The caller unreferences `frame` (av_frame_unref) when done with it.
    /// The end of the stream: what FFmpeg logged about the file goes into `damage`.
    private func finish() {
        finished = true
        if let format { damage.warnings = FFmpegLogging.problems(of: format) }
    }

    func decodeNext() throws(CaptureError) -> (decoded: Bool, seconds: Double?) {
        guard let format, !finished else { return (false, nil) }
        while true {
            let received = avcodec_receive_frame(codec, frame)
            if received >= 0 {
                let pts = frame.pointee.best_effort_timestamp
                let seconds = pts == Int64.min ? nil : Double(pts) * timeBase - containerStart
                return (true, seconds)
            }
            if received == merd_AVERROR_EOF {
                finish()
                return (false, nil)
            }
            guard received == merd_AVERROR_EAGAIN() else {
                throw .failed(source: path, reason: "decoding failed: \(ffmpegMessage(received))")
            }
            if draining {
                finish()
                return (false, nil)
            }
            let read = av_read_frame(format, packet)
            if read < 0 {
                // End of file, or a read error at a truncated end: drain what the decoder holds.
                if read != merd_AVERROR_EOF { damage.endError = ffmpegMessage(read) }
                draining = true
                avcodec_send_packet(codec, nil)
                continue
            }
            defer { av_packet_unref(packet) }
            // Corrupt packets of any stream count: a truncated file's last damaged packet is
            // often another stream's, and the file is damaged all the same.
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                damage.packets += 1
                continue
            }
            guard packet.pointee.stream_index == streamIndex else { continue }
            if avcodec_send_packet(codec, packet) < 0 { damage.packets += 1 }
        }
    }
}

/// What a stream's reading met that a whole file would not have: damaged packets (skipped) and
/// a read error where the end of file should have been.
public struct StreamDamage: Sendable, Equatable {
    public var packets = 0
    public var endError: String?
    /// Warnings and errors FFmpeg logged reading the file ("Packet corrupt", "File ended
    /// prematurely"): how it reports a truncated file whose packets look whole.
    public var warnings = 0

    public var isEmpty: Bool { packets == 0 && endError == nil && warnings == 0 }
}
