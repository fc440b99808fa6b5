import CFFmpeg

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
/// only FFmpeg's fatal messages stay on.
public enum FFmpegLogging {
    public static func quiet() { _ = silenced }

    private static let silenced: Void = av_log_set_level(AV_LOG_FATAL)
}
