import CFFmpeg
import MediaCodec
import MediaTypes

/// Decodes the video of any file FFmpeg reads into RGB24 frames stamped with their
/// presentation time on the file's timeline.
public final class VideoFileReader {
    public let path: String
    public let width: Int
    public let height: Int
    /// Frames per second the stream declares (its average rate), if any.
    public let framesPerSecond: Double?

    private let decoder: MediaStreamDecoder
    private let converter = VideoFrameConverter()
    private var lastTime: Double?

    public init(path: String) throws(CaptureError) {
        self.path = path
        decoder = try MediaStreamDecoder(path: path, kind: AVMEDIA_TYPE_VIDEO)
        width = Int(decoder.codec.pointee.width)
        height = Int(decoder.codec.pointee.height)
        let rate = decoder.codec.pointee.framerate
        framesPerSecond = rate.num > 0 && rate.den > 0 ? Double(rate.num) / Double(rate.den) : nil
    }

    /// Damaged packets skipped so far, and a read error that ended the stream.
    public var damage: StreamDamage { decoder.damage }

    /// The next frame, or nil at the end of the stream.
    public func nextFrame() throws(CaptureError) -> VideoFrame? {
        while true {
            let (decoded, seconds) = try decoder.decodeNext()
            guard decoded else { return nil }
            defer { av_frame_unref(decoder.frame) }
            // A frame without a timestamp follows the previous one by a frame period.
            let time = seconds ?? ((lastTime ?? 0) + 1 / (framesPerSecond ?? 25))
            lastTime = time
            do {
                return try converter.rgb(decoder.frame, time: MediaTime(seconds: max(0, time)))
            } catch {
                throw .failed(source: path, reason: error.description)
            }
        }
    }
}
