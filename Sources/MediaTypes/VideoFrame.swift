/// One decoded video frame, stamped with its capture time.
///
/// Planes are stored one after another in `bytes`, each with its own row stride (which may
/// exceed the packed row size, as decoders pad rows for alignment).
public struct VideoFrame: Sendable {
    public var width: Int
    public var height: Int
    public var format: PixelFormat
    /// All planes, plane 0 first.
    public var bytes: [UInt8]
    /// Bytes from the start of one row to the next, per plane.
    public var rowStrides: [Int]
    /// Offset of each plane in `bytes`.
    public var planeOffsets: [Int]
    /// Capture time of the frame.
    public var time: MediaTime

    /// Creates a frame after checking that every plane fits in `bytes`.
    public init(
        width: Int, height: Int, format: PixelFormat, bytes: [UInt8],
        rowStrides: [Int], planeOffsets: [Int], time: MediaTime
    ) throws(VideoFrameError) {
        guard width > 0, height > 0 else { throw .badSize(width: width, height: height) }
        guard rowStrides.count == format.planeCount, planeOffsets.count == format.planeCount else {
            throw .planeCount(expected: format.planeCount, found: rowStrides.count)
        }
        for plane in 0..<format.planeCount {
            let rowBytes = format.packedRowBytes(width: width, plane: plane)
            guard rowStrides[plane] >= rowBytes else {
                throw .strideTooSmall(plane: plane, stride: rowStrides[plane], rowBytes: rowBytes)
            }
            let rows = format.planeHeight(height: height, plane: plane)
            let end = planeOffsets[plane] + rowStrides[plane] * (rows - 1) + rowBytes
            guard planeOffsets[plane] >= 0, end <= bytes.count else {
                throw .bufferTooSmall(needed: end, found: bytes.count)
            }
        }
        self.width = width
        self.height = height
        self.format = format
        self.bytes = bytes
        self.rowStrides = rowStrides
        self.planeOffsets = planeOffsets
        self.time = time
    }

    /// Creates a frame whose planes are packed one after another without row padding.
    public init(packed bytes: [UInt8], width: Int, height: Int, format: PixelFormat, time: MediaTime)
        throws(VideoFrameError)
    {
        var strides: [Int] = []
        var offsets: [Int] = []
        var offset = 0
        for plane in 0..<format.planeCount {
            let rowBytes = format.packedRowBytes(width: width, plane: plane)
            strides.append(rowBytes)
            offsets.append(offset)
            offset += rowBytes * format.planeHeight(height: height, plane: plane)
        }
        try self.init(
            width: width, height: height, format: format, bytes: bytes,
            rowStrides: strides, planeOffsets: offsets, time: time)
    }
}

extension VideoFrame {
    /// The grey (luma) plane of an RGB, BGR, grey or YUV frame, packed: BT.601 weights for
    /// RGB (as OpenCV computes grey), the Y plane as it is for YUV. dlib's landmark models read
    /// an average of R, G and B instead (`RGBImage.dlibIntensity` in the engine).
    public func grayscale() -> VideoFrame {
        var luma = [UInt8](repeating: 0, count: width * height)
        bytes.withUnsafeBufferPointer { source in
            for y in 0..<height {
                let row = planeOffsets[0] + y * rowStrides[0]
                for x in 0..<width {
                    switch format {
                    case .rgb24, .bgr24:
                        let (first, second, third) = (Int(source[row + 3 * x]), Int(source[row + 3 * x + 1]), Int(source[row + 3 * x + 2]))
                        let (r, b) = format == .rgb24 ? (first, third) : (third, first)
                        // 0.299 R + 0.587 G + 0.114 B in 16.16 fixed point, rounded.
                        luma[y * width + x] = UInt8((19595 * r + 38470 * second + 7471 * b + 32768) >> 16)
                    case .gray8, .yuv420p:
                        luma[y * width + x] = source[row + x]
                    case .yuyv422:
                        luma[y * width + x] = source[row + 2 * x]
                    }
                }
            }
        }
        // A packed grey buffer of the same size always fits.
        return try! VideoFrame(packed: luma, width: width, height: height, format: .gray8, time: time)
    }
}

/// Why a buffer cannot be a frame of the stated size and format.
public enum VideoFrameError: Error, Equatable, CustomStringConvertible {
    case badSize(width: Int, height: Int)
    case planeCount(expected: Int, found: Int)
    case strideTooSmall(plane: Int, stride: Int, rowBytes: Int)
    case bufferTooSmall(needed: Int, found: Int)

    public var description: String {
        switch self {
        case .badSize(let width, let height):
            return "video frame size \(width)x\(height) is not positive"
        case .planeCount(let expected, let found):
            return "video frame has \(found) planes, its format needs \(expected)"
        case .strideTooSmall(let plane, let stride, let rowBytes):
            return "video frame plane \(plane) has row stride \(stride), shorter than a row (\(rowBytes) bytes)"
        case .bufferTooSmall(let needed, let found):
            return "video frame buffer holds \(found) bytes, its planes need \(needed)"
        }
    }
}
