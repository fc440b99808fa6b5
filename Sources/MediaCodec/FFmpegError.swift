import CFFmpeg

/// FFmpeg's message for an error code (`av_strerror`).
public func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    merd_av_strerror(code, &buffer, buffer.count)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// FFmpeg's libraries log warnings to stderr on their own (a deprecated YUVJ range, a JPEG
/// without its end marker); merd reports what matters itself, once, with what to do, so
/// only FFmpeg's fatal messages stay on.
public enum FFmpegLogging {
    public static func quiet() { _ = silenced }

    private static let silenced: Void = av_log_set_level(AV_LOG_FATAL)
}
