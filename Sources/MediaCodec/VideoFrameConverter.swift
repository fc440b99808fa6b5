import CFFmpeg
import MediaTypes

/// Converts decoded FFmpeg frames (any pixel format a decoder gives: YUV 4:2:0, YUVJ 4:2:2
/// from MJPEG, NV12, YUYV…) to packed RGB24 `VideoFrame`s through libswscale. The scaling
/// context is made once and remade only when the input's size or format changes.
public final class VideoFrameConverter {
    private var context: OpaquePointer?
    private var key: (width: Int32, height: Int32, format: Int32) = (0, 0, -1)

    /// Touches no FFmpeg library: they are opened with the first frame.
    public init() {}

    deinit { sws_freeContext(context) }

    /// `frame` as RGB24, stamped `time`.
    public func rgb(_ frame: UnsafePointer<AVFrame>, time: MediaTime) throws(VideoConversionError) -> VideoFrame {
        let (width, height, format) = (frame.pointee.width, frame.pointee.height, frame.pointee.format)
        guard width > 0, height > 0, format >= 0 else { throw .invalidFrame(width: Int(width), height: Int(height)) }
        if context == nil || key != (width, height, format) {
            do { try FFmpegLibraries.open(.avutil, .swscale) } catch { throw .unavailable(error) }
            FFmpegLogging.quiet()
            sws_freeContext(context)
            // Bilinear is enough for a same-size conversion; full chroma interpolation keeps
            // colour edges (face crops come from these pixels).
            context = sws_getContext(width, height, AVPixelFormat(format), width, height, AV_PIX_FMT_RGB24,
                                     Int32(SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND), nil, nil, nil)
            guard context != nil else {
                throw .unsupportedPixelFormat(pixelFormatName(format))
            }
            key = (width, height, format)
        }
        let rowBytes = Int(width) * 3
        var bytes = [UInt8](repeating: 0, count: rowBytes * Int(height))
        let scaled = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var destination: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(rowBytes), 0, 0, 0]
            return withUnsafePointer(to: frame.pointee.data) { dataTuple in
                withUnsafePointer(to: frame.pointee.linesize) { linesizeTuple in
                    let data = UnsafeRawPointer(dataTuple).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                    let linesize = UnsafeRawPointer(linesizeTuple).assumingMemoryBound(to: Int32.self)
                    return sws_scale(context, data, linesize, 0, height, &destination, &strides)
                }
            }
        }
        guard scaled == height else { throw .conversionFailed(Int(scaled)) }
        do {
            return try VideoFrame(packed: bytes, width: Int(width), height: Int(height), format: .rgb24, time: time)
        } catch {
            throw .invalidFrame(width: Int(width), height: Int(height))
        }
    }
}

/// A decoded frame that cannot become an RGB frame.
public enum VideoConversionError: Error, Equatable, CustomStringConvertible {
    case invalidFrame(width: Int, height: Int)
    case unsupportedPixelFormat(String)
    case conversionFailed(Int)
    /// libswscale (or the encoder's libavcodec) could not be opened.
    case unavailable(FFmpegUnavailable)

    public var description: String {
        switch self {
        case .unavailable(let error): return error.description
        case .invalidFrame(let width, let height): return "decoded frame of size \(width)x\(height) is not usable"
        case .unsupportedPixelFormat(let name): return "cannot convert pixel format \(name) to RGB"
        case .conversionFailed(let rows): return "pixel conversion produced \(rows) rows"
        }
    }
}

/// FFmpeg's name of a pixel format (`yuv420p`, `yuvj422p`, …).
public func pixelFormatName(_ format: Int32) -> String {
    guard let name = av_get_pix_fmt_name(AVPixelFormat(format)) else { return "format \(format)" }
    return String(cString: name)
}
