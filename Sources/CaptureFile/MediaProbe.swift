import CFFmpeg
import MediaCodec
import MediaTypes

/// What a media file holds: its container and streams, as `merd probe` prints them.
public struct MediaInfo: Sendable, Equatable {
    public struct Stream: Sendable, Equatable {
        public enum Kind: String, Sendable { case audio, video, other }
        public let index: Int
        public let kind: Kind
        public let codec: String
        /// Audio: sample rate and channels; video: size, pixel format and frame rate.
        public let sampleRate: Int?
        public let channels: Int?
        public let width: Int?
        public let height: Int?
        public let pixelFormat: String?
        public let framesPerSecond: Double?
        public let durationSeconds: Double?
        /// Packets counted by reading the whole stream (exact even when the header has none).
        public let packets: Int
    }

    public let path: String
    public let container: String
    public let durationSeconds: Double?
    public let streams: [Stream]
}

public enum MediaProbe {
    /// Opens `path`, reads every packet once and describes each stream.
    public static func probe(_ path: String) throws(CaptureError) -> MediaInfo {
        try FFmpegLibraries.open(.avutil, .avcodec, .avformat, for: path)
        FFmpegLogging.quiet()
        var format: UnsafeMutablePointer<AVFormatContext>?
        let opened = avformat_open_input(&format, path, nil, nil)
        guard opened >= 0, let context = format else {
            if opened == -2 { throw .notFound(source: path) }
            throw .unsupportedFormat(source: path, detail: "not a media file FFmpeg can read (\(ffmpegMessage(opened)))")
        }
        defer { avformat_close_input(&format) }
        let found = avformat_find_stream_info(context, nil)
        guard found >= 0 else { throw .unsupportedFormat(source: path, detail: "cannot read its streams (\(ffmpegMessage(found)))") }
        let count = Int(context.pointee.nb_streams)
        var packets = [Int](repeating: 0, count: count)
        let packet = av_packet_alloc()
        defer { var p = packet; av_packet_free(&p) }
        while av_read_frame(context, packet) >= 0 {
            let index = Int(packet!.pointee.stream_index)
            if index < count { packets[index] += 1 }
            av_packet_unref(packet)
        }
        let streams = (0..<count).map { i -> MediaInfo.Stream in
            let stream = context.pointee.streams[i]!
            let parameters = stream.pointee.codecpar!.pointee
            let kind: MediaInfo.Stream.Kind = parameters.codec_type == AVMEDIA_TYPE_AUDIO ? .audio
                : parameters.codec_type == AVMEDIA_TYPE_VIDEO ? .video : .other
            let name = avcodec_get_name(parameters.codec_id).map { String(cString: $0) } ?? "unknown"
            let timeBase = Double(stream.pointee.time_base.num) / Double(max(stream.pointee.time_base.den, 1))
            let duration = stream.pointee.duration > 0 ? Double(stream.pointee.duration) * timeBase : nil
            let rate = stream.pointee.avg_frame_rate
            return MediaInfo.Stream(
                index: i, kind: kind, codec: name,
                sampleRate: kind == .audio ? Int(parameters.sample_rate) : nil,
                channels: kind == .audio ? Int(parameters.ch_layout.nb_channels) : nil,
                width: kind == .video ? Int(parameters.width) : nil,
                height: kind == .video ? Int(parameters.height) : nil,
                pixelFormat: kind == .video ? pixelFormatName(parameters.format) : nil,
                framesPerSecond: kind == .video && rate.num > 0 && rate.den > 0 ? Double(rate.num) / Double(rate.den) : nil,
                durationSeconds: duration, packets: packets[i])
        }
        let container = context.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        let duration = context.pointee.duration > 0 ? Double(context.pointee.duration) / Double(AV_TIME_BASE) : nil
        return MediaInfo(path: path, container: container, durationSeconds: duration, streams: streams)
    }
}
