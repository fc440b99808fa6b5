import CFFmpeg
import MediaTypes

/// Decodes the audio of any file FFmpeg reads (WAV, MP3, FLAC, the audio track of an MPEG
/// or MP4 video…) into Float32 chunks at the file's own rate and channel count.
///
/// Demuxing through libavformat, decoding through libavcodec; the decoder's sample format
/// (S16, planar float, …) becomes interleaved Float32 through libswresample at the same rate.
public final class AudioFileReader {
    /// The path, as given.
    public let path: String
    /// The audio stream's sample rate and channel count.
    public let sampleRate: Int
    public let channels: Int
    /// Duration the container states, if any.
    public let durationSeconds: Double?

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var converter: OpaquePointer?
    private let streamIndex: Int32
    private let packet: UnsafeMutablePointer<AVPacket>
    private let frame: UnsafeMutablePointer<AVFrame>
    private var samplesDelivered = 0
    private var draining = false
    private var finished = false

    /// Opens `path` and its best audio stream.
    public init(path: String) throws(CaptureError) {
        self.path = path
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
        var codecContext: UnsafeMutablePointer<AVCodecContext>?
        var packet: UnsafeMutablePointer<AVPacket>?
        var frame: UnsafeMutablePointer<AVFrame>?
        do throws(CaptureError) {
            let found = avformat_find_stream_info(format, nil)
            guard found >= 0 else { throw .failed(source: path, reason: "cannot read stream info: \(ffmpegMessage(found))") }
            var decoder: UnsafePointer<AVCodec>?
            let index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0)
            guard index >= 0, let decoder else {
                throw .unsupportedFormat(source: path, detail: index == -1381258232 /* AVERROR_STREAM_NOT_FOUND */
                    ? "no audio stream" : "no decoder for its audio (\(ffmpegMessage(index)))")
            }
            streamIndex = index
            codecContext = avcodec_alloc_context3(decoder)
            guard let codecContext else { throw .failed(source: path, reason: "out of memory") }
            let parameters = format.pointee.streams[Int(index)]!.pointee.codecpar
            var status = avcodec_parameters_to_context(codecContext, parameters)
            if status >= 0 { status = avcodec_open2(codecContext, decoder, nil) }
            guard status >= 0 else { throw .unsupportedFormat(source: path, detail: "cannot open decoder: \(ffmpegMessage(status))") }
            sampleRate = Int(codecContext.pointee.sample_rate)
            channels = Int(codecContext.pointee.ch_layout.nb_channels)
            guard sampleRate > 0, channels > 0 else {
                throw .unsupportedFormat(source: path, detail: "audio stream states rate \(sampleRate), \(channels) channels")
            }
            let duration = format.pointee.duration
            durationSeconds = duration > 0 ? Double(duration) / Double(AV_TIME_BASE) : nil
            packet = av_packet_alloc()
            frame = av_frame_alloc()
            guard packet != nil, frame != nil else { throw .failed(source: path, reason: "out of memory") }
        } catch {
            avcodec_free_context(&codecContext)
            av_packet_free(&packet)
            av_frame_free(&frame)
            avformat_close_input(&self.format)
            throw error
        }
        self.codec = codecContext
        self.packet = packet!
        self.frame = frame!
    }

    deinit {
        swr_free(&converter)
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&codec)
        avformat_close_input(&format)
    }

    /// The next decoded chunk, or nil at the end of the stream. Times start at zero.
    public func nextChunk() throws(CaptureError) -> AudioChunk? {
        guard let codec, let format, !finished else { return nil }
        while true {
            let received = avcodec_receive_frame(codec, frame)
            if received >= 0 {
                defer { av_frame_unref(frame) }
                let samples = try convert(frame)
                let time = MediaTime.zero.advanced(bySamples: samplesDelivered, sampleRate: sampleRate)
                samplesDelivered += samples.count / channels
                if samples.isEmpty { continue }
                return AudioChunk(samples: samples, sampleRate: sampleRate, channels: channels, time: time)
            }
            if received == merd_AVERROR_EOF {
                finished = true
                return nil
            }
            guard received == merd_AVERROR_EAGAIN() else {
                throw .failed(source: path, reason: "decoding failed: \(ffmpegMessage(received))")
            }
            if draining { finished = true; return nil }
            let read = av_read_frame(format, packet)
            if read < 0 {
                // End of file (or a read error at the end): drain what the decoder holds.
                draining = true
                avcodec_send_packet(codec, nil)
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(codec, packet)
            // A damaged packet is skipped, as players do; the stream goes on.
            if sent < 0 && sent != merd_AVERROR_EAGAIN() { continue }
        }
    }

    /// Every remaining sample, interleaved.
    public func readAll() throws(CaptureError) -> [Float] {
        var all: [Float] = []
        while let chunk = try nextChunk() { all += chunk.samples }
        return all
    }

    /// The frame's samples as interleaved Float32, whatever the decoder's format.
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws(CaptureError) -> [Float] {
        let count = Int(frame.pointee.nb_samples)
        if converter == nil {
            var outputLayout = frame.pointee.ch_layout
            var inputLayout = frame.pointee.ch_layout
            let status = swr_alloc_set_opts2(&converter, &outputLayout, AV_SAMPLE_FMT_FLT, frame.pointee.sample_rate,
                                             &inputLayout, AVSampleFormat(frame.pointee.format), frame.pointee.sample_rate, 0, nil)
            guard status >= 0, swr_init(converter) >= 0 else {
                throw .unsupportedFormat(source: path, detail: "cannot convert its sample format \(frame.pointee.format)")
            }
        }
        var output = [Float](repeating: 0, count: count * channels)
        let converted = output.withUnsafeMutableBytes { bytes -> Int32 in
            var out: UnsafeMutablePointer<UInt8>? = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let input = UnsafeMutablePointer<UnsafePointer<UInt8>?>(OpaquePointer(frame.pointee.extended_data))
            return swr_convert(converter, &out, Int32(count), input, Int32(count))
        }
        guard converted >= 0 else { throw .failed(source: path, reason: "sample conversion failed: \(ffmpegMessage(converted))") }
        output.removeLast((count - Int(converted)) * channels)
        return output
    }
}
