/// The layouts of decoded video frames that flow between capture and the engine.
///
/// Capture decodes compressed formats (MJPEG, H.264, …) before handing frames on; these are
/// the raw layouts it hands on.
public enum PixelFormat: String, Sendable, CaseIterable {
    /// 8-bit R, G, B per pixel, packed.
    case rgb24
    /// 8-bit B, G, R per pixel, packed (OpenCV's order).
    case bgr24
    /// 8-bit luma only.
    case gray8
    /// Packed 4:2:2, Y0 U Y1 V (V4L2's YUYV).
    case yuyv422
    /// Planar 4:2:0: a full Y plane, then quarter-size U and V planes.
    case yuv420p

    /// Planes the format stores its pixels in.
    public var planeCount: Int {
        self == .yuv420p ? 3 : 1
    }

    /// Bytes the smallest valid buffer of a `width` × `height` frame holds, with rows packed.
    public func packedByteCount(width: Int, height: Int) -> Int {
        switch self {
        case .rgb24, .bgr24: return width * height * 3
        case .gray8: return width * height
        case .yuyv422: return ((width + 1) / 2) * 4 * height
        case .yuv420p:
            let chroma = ((width + 1) / 2) * ((height + 1) / 2)
            return width * height + 2 * chroma
        }
    }

    /// Packed bytes per row of plane `plane`.
    public func packedRowBytes(width: Int, plane: Int) -> Int {
        switch self {
        case .rgb24, .bgr24: return width * 3
        case .gray8: return width
        case .yuyv422: return ((width + 1) / 2) * 4
        case .yuv420p: return plane == 0 ? width : (width + 1) / 2
        }
    }

    /// Rows of plane `plane`.
    public func planeHeight(height: Int, plane: Int) -> Int {
        (self == .yuv420p && plane > 0) ? (height + 1) / 2 : height
    }
}
