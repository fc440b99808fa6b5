import Foundation
import StreamEngine

/// The image corruptions of the paper's MER-NOISE training data, each with its strength:
/// frames are corrupted before face detection, as a bad camera or room would.
public enum ImageCorruption: Sendable, Equatable, CustomStringConvertible {
    /// Every value at or above `threshold` inverted (255 − v), PIL's `ImageOps.solarize`.
    case solarize(threshold: UInt8)
    /// A Gaussian blur of standard deviation `sigma` pixels (kernel ±3σ, edges repeated).
    case blur(sigma: Double)
    /// A rotation by `degrees` (counter-clockwise) about the image centre, bilinear, black
    /// outside the original frame.
    case rotate(degrees: Double)
    /// A black square of side `fraction` of the shorter image side, its top-left corner at
    /// (`x`, `y`) as fractions of the free width and height.
    case cutout(fraction: Double, x: Double, y: Double)

    /// The names `--augment image=…` takes.
    public static let names = ["solarize", "blur", "rotate", "cutout"]

    public var description: String {
        switch self {
        case .solarize(let threshold): return "solarize(\(threshold))"
        case .blur(let sigma): return String(format: "blur(σ %.2f px)", sigma)
        case .rotate(let degrees): return String(format: "rotate(%.1f°)", degrees)
        case .cutout(let fraction, _, _): return String(format: "cutout(%.0f %%)", fraction * 100)
        }
    }

    /// A corruption of kind `name` with its strength drawn from the augmentation ranges:
    /// solarize at 128, blur σ 1–3 px, rotate ±30°, cutout of a quarter of the shorter side.
    public static func random(_ name: String, using random: inout some RandomNumberGenerator) -> ImageCorruption? {
        switch name {
        case "solarize": return .solarize(threshold: 128)
        case "blur": return .blur(sigma: Double.random(in: 1...3, using: &random))
        case "rotate": return .rotate(degrees: Double.random(in: -30...30, using: &random))
        case "cutout": return .cutout(fraction: 0.25, x: Double.random(in: 0...1, using: &random), y: Double.random(in: 0...1, using: &random))
        default: return nil
        }
    }

    public func apply(to image: RGBImage) -> RGBImage {
        let (w, h) = (image.width, image.height)
        switch self {
        case .solarize(let threshold):
            return RGBImage(width: w, height: h, pixels: image.pixels.map { $0 >= threshold ? 255 - $0 : $0 })
        case .blur(let sigma):
            return Self.gaussianBlur(image, sigma: sigma)
        case .rotate(let degrees):
            let angle = degrees * Double.pi / 180
            // Output pixel → source pixel: rotate by −angle about the centre (y down: a positive
            // angle turns the picture counter-clockwise on screen).
            let (cx, cy) = (Double(w - 1) / 2, Double(h - 1) / 2)
            let (c, s) = (cos(angle), sin(angle))
            var out = [UInt8](repeating: 0, count: w * h * 3)
            image.pixels.withUnsafeBufferPointer { p in
                for y in 0..<h {
                    for x in 0..<w {
                        let (dx, dy) = (Double(x) - cx, Double(y) - cy)
                        var sx = c * dx - s * dy + cx, sy = s * dx + c * dy + cy
                        // cos and sin of exact angles (90°, 180°) carry 1e-16 errors: a pixel on the
                        // border must not fall outside by that much.
                        let slack = 1e-9
                        guard sx > -slack, sy > -slack, sx < Double(w - 1) + slack, sy < Double(h - 1) + slack else { continue }
                        sx = min(max(sx, 0), Double(w - 1))
                        sy = min(max(sy, 0), Double(h - 1))
                        let (x0, y0) = (Int(sx), Int(sy))
                        let (x1, y1) = (min(x0 + 1, w - 1), min(y0 + 1, h - 1))
                        let (fx, fy) = (sx - Double(x0), sy - Double(y0))
                        for ch in 0..<3 {
                            let a = Double(p[(y0 * w + x0) * 3 + ch]), b = Double(p[(y0 * w + x1) * 3 + ch])
                            let d = Double(p[(y1 * w + x0) * 3 + ch]), e = Double(p[(y1 * w + x1) * 3 + ch])
                            let value = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy
                            out[(y * w + x) * 3 + ch] = UInt8(min(255, max(0, value.rounded())))
                        }
                    }
                }
            }
            return RGBImage(width: w, height: h, pixels: out)
        case .cutout(let fraction, let fx, let fy):
            let side = max(1, Int((Double(min(w, h)) * fraction).rounded()))
            let left = Int((Double(w - side) * fx).rounded()), top = Int((Double(h - side) * fy).rounded())
            var out = image.pixels
            for y in top..<(top + side) {
                for x in left..<(left + side) { for ch in 0..<3 { out[(y * w + x) * 3 + ch] = 0 } }
            }
            return RGBImage(width: w, height: h, pixels: out)
        }
    }

    /// Separable Gaussian blur, kernel radius ⌈3σ⌉, weights normalised to 1, edges repeated.
    static func gaussianBlur(_ image: RGBImage, sigma: Double) -> RGBImage {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let (w, h) = (image.width, image.height)
        let horizontal = blurPass(image.pixels.map(Double.init), width: w, height: h, kernel: kernel, alongRows: true)
        let both = blurPass(horizontal, width: w, height: h, kernel: kernel, alongRows: false)
        return RGBImage(width: w, height: h, pixels: both.map { UInt8(min(255, max(0, $0.rounded()))) })
    }

    /// One direction of the separable blur over interleaved RGB values.
    private static func blurPass(_ values: [Double], width w: Int, height h: Int, kernel: [Double], alongRows: Bool) -> [Double] {
        let radius = kernel.count / 2
        var out = [Double](repeating: 0, count: values.count)
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<3 {
                    var sum = 0.0
                    for (k, weight) in kernel.enumerated() {
                        let source = alongRows ? y * w + min(max(x + k - radius, 0), w - 1)
                                               : min(max(y + k - radius, 0), h - 1) * w + x
                        sum += weight * values[source * 3 + ch]
                    }
                    out[(y * w + x) * 3 + ch] = sum
                }
            }
        }
        return out
    }
}
