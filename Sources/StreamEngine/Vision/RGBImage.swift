import MediaTypes
import NeuralKit

/// A packed 8-bit RGB image, row-major, three bytes a pixel: what the face pipeline reads.
public struct RGBImage: Sendable {
    public let width: Int
    public let height: Int
    /// `height` rows of `width` R, G, B triples, no padding.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGB image \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The frame's pixels, repacked without row padding; nil for a frame that is not RGB or BGR
    /// (capture converts to RGB, so this is a programming error upstream, reported as such).
    public init?(_ frame: VideoFrame) {
        guard frame.format == .rgb24 || frame.format == .bgr24 else { return nil }
        let (width, height) = (frame.width, frame.height)
        var packed = [UInt8](repeating: 0, count: width * height * 3)
        let swapped = frame.format == .bgr24
        frame.bytes.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let row = source.baseAddress! + frame.planeOffsets[0] + y * frame.rowStrides[0]
                    let out = target.baseAddress! + y * width * 3
                    if swapped {
                        for x in 0..<width {
                            out[3 * x] = row[3 * x + 2]
                            out[3 * x + 1] = row[3 * x + 1]
                            out[3 * x + 2] = row[3 * x]
                        }
                    } else {
                        out.update(from: row, count: width * 3)
                    }
                }
            }
        }
        self.init(width: width, height: height, pixels: packed)
    }

    /// The image as float HWC, each value mapped by `transform` (e.g. MTCNN's (v − 127.5) / 128).
    func floatPixels(_ transform: (Float) -> Float) -> [Float] {
        pixels.map { transform(Float($0)) }
    }

    /// Grey as dlib computes it from RGB pixels, (R + G + B) / 3 truncated: what its landmark
    /// models read when handed a colour image, as they usually are.
    public func dlibIntensity() -> [UInt8] {
        var grey = [UInt8](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { p in
            for i in 0..<(width * height) {
                grey[i] = UInt8((UInt32(p[3 * i]) + UInt32(p[3 * i + 1]) + UInt32(p[3 * i + 2])) / 3)
            }
        }
        return grey
    }
}

/// A float image, row-major HWC: the intermediate form resizing and cropping work on.
struct FloatImage: Sendable {
    let width: Int
    let height: Int
    let channels: Int
    var values: [Float]

    init(width: Int, height: Int, channels: Int, values: [Float]) {
        precondition(values.count == width * height * channels, "float image \(width)x\(height)x\(channels) with \(values.count) values")
        self.width = width
        self.height = height
        self.channels = channels
        self.values = values
    }

    /// [C, H, W]: the layout NeuralKit's convolutions read.
    func planar() -> Tensor {
        Tensor(shape: [channels, height, width]) { out in
            values.withUnsafeBufferPointer { v in
                for y in 0..<height {
                    for x in 0..<width {
                        for c in 0..<channels { out[(c * height + y) * width + x] = v[(y * width + x) * channels + c] }
                    }
                }
            }
        }
    }
}

extension RGBImage {
    /// The image resampled bilinearly through `toSource` (output pixel → source pixel), edges
    /// repeated; e.g. a frame scaled to another size.
    public func resampled(_ toSource: SimilarityTransform, width: Int, height: Int) -> RGBImage {
        let values = ImageResampling.warp(self, toSource, width: width, height: height).values
        return RGBImage(width: width, height: height, pixels: values.map { UInt8(min(max($0.rounded(), 0), 255)) })
    }
}
