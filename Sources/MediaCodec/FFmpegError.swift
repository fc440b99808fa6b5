import CFFmpeg
import CFFmpegLog

/// FFmpeg's message for an error code (`av_strerror`).
public func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    merd_av_strerror(code, &buffer, buffer.count)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// FFmpeg's error codes merd tells apart, by their names in `libavutil/error.h` (the C
/// macros are built with FFERRTAG, which Swift does not import; `merd_AVERROR_EOF` and
/// `merd_AVERROR_EAGAIN` in the CFFmpeg shim are the others).
public enum AVError {
    /// FFERRTAG(0xF8, 'S', 'T', 'R'): no stream of the requested kind.
    public static let streamNotFound: Int32 = -1381258232
}

/// FFmpeg's libraries log warnings to stderr on their own (a deprecated YUVJ range, a JPEG
/// without its end marker); merd reports what matters itself, once, with what to do, so
/// only FFmpeg's fatal messages still print. Its warnings and errors are counted per watched
/// context instead: FFmpeg says that a file is truncated or damaged only there.
public enum FFmpegLogging {
    /// Called before any FFmpeg use. Installs the callback each time (one store in
    /// libavutil): a `static let` of type Void that did it once was never initialised, since
    /// reading a Void needs no initialiser, and FFmpeg's lines reached stderr.
    public static func quiet() { merd_av_log_install() }

    /// Starts counting the warnings and errors FFmpeg logs for `context` (a demuxer's
    /// `AVFormatContext`).
    public static func watch(_ context: UnsafeMutableRawPointer) { _ = merd_av_log_watch(context) }

    /// The warnings and errors logged for `context` since `watch`.
    public static func problems(of context: UnsafeMutableRawPointer) -> Int { merd_av_log_count(context) }

    /// Stops counting `context`; call before freeing it.
    public static func unwatch(_ context: UnsafeMutableRawPointer) { merd_av_log_unwatch(context) }
}
