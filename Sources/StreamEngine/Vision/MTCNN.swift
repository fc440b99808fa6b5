import Foundation
import NeuralKit

/// MTCNN face detection as the PyPI package `mtcnn` 1.0.0 runs it (mtcnn/stages/*.py,
/// mtcnn/utils/{images,bboxes,landmarks}.py), step for step so that the same weights find
/// the same faces: an image pyramid (TensorFlow's area resize) through P-Net, proposals
/// regressed and thinned by non-maximum suppression, squared, cut out with TensorFlow's
/// `crop_and_resize` for R-Net, again for O-Net, which adds five keypoints.
public struct MTCNN: FaceDetecting {
    /// The pipeline's knobs, with mtcnn's defaults.
    public struct Parameters: Sendable, Equatable {
        /// Smallest face, in pixels, the pyramid looks for (mtcnn: 20). A webcam's faces are
        /// large, and each step up halves the pyramid's cost.
        public var minimumFaceSize: Double = 20
        public var scaleFactor: Double = 0.709
        public var proposalThreshold: Double = 0.6
        public var refineThreshold: Double = 0.7
        public var outputThreshold: Double = 0.8
        public var proposalScaleOverlap: Double = 0.5
        public var proposalOverlap: Double = 0.7
        public var refineOverlap: Double = 0.7
        public var outputOverlap: Double = 0.7

        public init() {}
    }

    let networks: MTCNNNetworks
    public var parameters: Parameters

    /// Loads the three nets from a safetensors file written by `tools/convert_mtcnn.py`.
    public init(path: String, parameters: Parameters = Parameters()) throws(VisionModelError) {
        networks = try MTCNNNetworks.load(path: path)
        self.parameters = parameters
    }

    /// A box through the stages, in image pixels (float64, as numpy computes them).
    struct Candidate {
        var x1: Double, y1: Double, x2: Double, y2: Double
        var score: Double
        var keypoints: [Double] = []  // x0…x4 then y0…y4
    }

    public func detect(_ image: RGBImage) -> [DetectedFace] {
        let normalized = Self.normalize(image)
        var candidates = proposals(normalized)
        guard !candidates.isEmpty else { return [] }
        candidates = refine(.normalized(normalized), candidates)
        guard !candidates.isEmpty else { return [] }
        candidates = output(.normalized(normalized), candidates)
        return candidates.map { Self.face($0, width: image.width, height: image.height) }
    }

    /// O-Net alone on one box (a face tracked from the previous frame): its score, refined box
    /// and keypoints, or nil when O-Net does not call it a face.
    public func verify(_ image: RGBImage, around box: (x1: Double, y1: Double, x2: Double, y2: Double)) -> DetectedFace? {
        let square = Self.squared([Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: 1)])
        // One crop: read from the 8-bit frame directly rather than normalising all of it.
        return output(.pixels(image), square).first.map { Self.face($0, width: image.width, height: image.height) }
    }

    /// (v − 127.5) / 128 per channel value, in float32.
    static func normalize(_ image: RGBImage) -> FloatImage {
        FloatImage(width: image.width, height: image.height, channels: 3, values: image.floatPixels(normalized))
    }

    static func normalized(_ value: Float) -> Float { (value - 127.5) / 128 }

    /// What the R- and O-Net crops are cut from: the normalised frame (detection builds it for
    /// the pyramid anyway) or the 8-bit frame, normalised as it is read.
    enum CropSource {
        case normalized(FloatImage)
        case pixels(RGBImage)

        var size: (width: Int, height: Int) {
            switch self {
            case .normalized(let image): return (image.width, image.height)
            case .pixels(let image): return (image.width, image.height)
            }
        }

        func crop(_ box: (y1: Float, x1: Float, y2: Float, x2: Float), side: Int) -> FloatImage {
            switch self {
            case .normalized(let image): return ImageResampling.cropAndResize(image, box: box, width: side, height: side)
            case .pixels(let image): return ImageResampling.cropAndResize(image, box: box, width: side, height: side, transform: MTCNN.normalized)
            }
        }
    }

    /// The pyramid's scales: 12/minimumFaceSize · factorᵏ for k < round(−(log(min(W, H)/12) / log(factor) + 1)),
    /// mtcnn's `build_scale_pyramid` (its count ignores the first scale, and so does merd's).
    func scales(width: Int, height: Int) -> [Double] {
        let smallest = Double(min(width, height))
        let count = (-(log(smallest / 12) / log(parameters.scaleFactor) + 1)).rounded(.toNearestOrEven)
        guard count >= 1 else { return [] }
        let first = 12 / parameters.minimumFaceSize
        return (0..<Int(count)).map { first * pow(parameters.scaleFactor, Double($0)) }
    }

    // MARK: P-Net

    func proposals(_ image: FloatImage) -> [Candidate] {
        var all: [Candidate] = []
        for scale in scales(width: image.width, height: image.height) {
            let height = Int(Double(image.height) * scale), width = Int(Double(image.width) * scale)
            guard height >= 12, width >= 12 else { continue }
            let scaled = ImageResampling.areaResize(image, width: width, height: height)
            let (offsets, probabilities) = networks.proposal(scaled.planar())
            var found = Self.proposalBoxes(offsets: offsets, probabilities: probabilities, threshold: parameters.proposalThreshold)
            for i in found.indices {
                found[i].x1 /= scale
                found[i].y1 /= scale
                found[i].x2 /= scale
                found[i].y2 /= scale
            }
            all += Self.suppress(found, threshold: parameters.proposalScaleOverlap, method: .union)
        }
        let kept = Self.suppress(Self.sortedByScore(all), threshold: parameters.proposalOverlap, method: .union)
        return Self.squared(kept)
    }

    /// mtcnn's `generate_bounding_box`: each position of P-Net's map over the threshold is a
    /// 12-pixel cell at stride 2, moved by the regressed offsets (in cell sizes of 11).
    static func proposalBoxes(offsets: Tensor, probabilities: Tensor, threshold: Double) -> [Candidate] {
        let (h, w) = (probabilities.shape[0], probabilities.shape[1])
        let p = probabilities.scalars, o = offsets.scalars
        var found: [Candidate] = []
        for y in 0..<h {
            for x in 0..<w where Double(p[y * w + x]) > threshold {
                let (left, top) = (Double(x * 2 + 1), Double(y * 2 + 1))
                let (right, bottom) = (Double(x * 2 + 12), Double(y * 2 + 12))
                let size = 11.0
                func offset(_ k: Int) -> Double { Double(o[(k * h + y) * w + x]) }
                found.append(Candidate(x1: left + offset(0) * size, y1: top + offset(1) * size,
                                       x2: right + offset(2) * size, y2: bottom + offset(3) * size,
                                       score: Double(p[y * w + x])))
            }
        }
        return sortedByScore(found)
    }

    // MARK: R-Net and O-Net

    func refine(_ image: CropSource, _ candidates: [Candidate]) -> [Candidate] {
        let outputs = networks.refine(Self.patches(image, candidates, side: 24))
        let (offsets, scores) = (outputs[0].scalars, outputs[1].scalars)
        var adjusted: [Candidate] = []
        for (i, candidate) in candidates.enumerated() {
            var c = Self.moved(candidate, by: Array(offsets[(4 * i)..<(4 * i + 4)]))
            c.score = Double(scores[2 * i + 1])
            if c.score > parameters.refineThreshold { adjusted.append(c) }
        }
        return Self.squared(Self.suppress(Self.sortedByScore(adjusted), threshold: parameters.refineOverlap, method: .union))
    }

    func output(_ image: CropSource, _ candidates: [Candidate]) -> [Candidate] {
        let outputs = networks.output(Self.patches(image, candidates, side: 48))
        let (offsets, points, scores) = (outputs[0].scalars, outputs[1].scalars, outputs[2].scalars)
        var adjusted: [Candidate] = []
        for (i, candidate) in candidates.enumerated() {
            // Keypoints relative to the box before its regression; stored in float32 as mtcnn
            // writes them back into its float32 array.
            let w = candidate.x2 - candidate.x1 + 1, h = candidate.y2 - candidate.y1 + 1
            let xs = (0..<5).map { Double(Float(w * Double(points[10 * i + $0]) + candidate.x1 - 1)) }
            let ys = (0..<5).map { Double(Float(h * Double(points[10 * i + 5 + $0]) + candidate.y1 - 1)) }
            var c = Self.moved(candidate, by: Array(offsets[(4 * i)..<(4 * i + 4)]))
            c.score = Double(scores[2 * i + 1])
            c.keypoints = xs + ys
            if c.score > parameters.outputThreshold { adjusted.append(c) }
        }
        return Self.suppress(Self.sortedByScore(adjusted), threshold: parameters.outputOverlap, method: .minimum)
    }

    /// The crops of each box, [N, 3, side, side], normalised by the image size as mtcnn does
    /// (by W and H, where `crop_and_resize` itself scales by W − 1 and H − 1).
    static func patches(_ image: CropSource, _ candidates: [Candidate], side: Int) -> Tensor {
        let (w, h) = (Double(image.size.width), Double(image.size.height))
        let planeCount = 3 * side * side
        return Tensor(shape: [candidates.count, 3, side, side]) { out in
            for (i, c) in candidates.enumerated() {
                let crop = image.crop((Float(c.y1 / h), Float(c.x1 / w), Float(c.y2 / h), Float(c.x2 / w)), side: side)
                crop.planar().withUnsafeBufferPointer { p in
                    (out.baseAddress! + i * planeCount).update(from: p.baseAddress!, count: planeCount)
                }
            }
        }
    }

    /// mtcnn's `adjust_bboxes`: corners moved by the offsets times the box size (+1 inclusive).
    static func moved(_ c: Candidate, by offsets: [Float]) -> Candidate {
        var moved = c
        let w = c.x2 - c.x1 + 1, h = c.y2 - c.y1 + 1
        moved.x1 += Double(offsets[0]) * w
        moved.y1 += Double(offsets[1]) * h
        moved.x2 += Double(offsets[2]) * w
        moved.y2 += Double(offsets[3]) * h
        return moved
    }

    /// mtcnn's `resize_to_square`: each box grown to its longer side about its centre.
    static func squared(_ candidates: [Candidate]) -> [Candidate] {
        candidates.map { c in
            var s = c
            let h = c.y2 - c.y1, w = c.x2 - c.x1
            let side = max(w, h)
            s.x1 = c.x1 + w * 0.5 - side * 0.5
            s.y1 = c.y1 + h * 0.5 - side * 0.5
            s.x2 = s.x1 + side
            s.y2 = s.y1 + side
            return s
        }
    }

    /// Highest score first: an ascending sort reversed, as mtcnn's `sort_by_scores`.
    static func sortedByScore(_ candidates: [Candidate]) -> [Candidate] {
        Array(candidates.enumerated().sorted { ($0.element.score, $0.offset) < ($1.element.score, $1.offset) }.map(\.element).reversed())
    }

    enum OverlapMethod { case union, minimum }

    /// mtcnn's `smart_nms_from_bboxes`: a box is dropped when any box before it in the list
    /// overlaps it by more than the threshold, whether or not that box was itself dropped
    /// (an all-pairs rule, stricter than greedy NMS, kept for the same boxes as mtcnn).
    static func suppress(_ candidates: [Candidate], threshold: Double, method: OverlapMethod) -> [Candidate] {
        var kept: [Candidate] = []
        for (j, b) in candidates.enumerated() {
            let areaB = (b.x2 - b.x1) * (b.y2 - b.y1)
            var suppressed = false
            for i in 0..<j {
                let a = candidates[i]
                let areaA = (a.x2 - a.x1) * (a.y2 - a.y1)
                let inter = max(0, min(a.x2, b.x2) - max(a.x1, b.x1)) * max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
                let overlap = method == .union ? inter / (areaA + areaB - inter) : inter / min(areaA, areaB)
                if overlap > threshold {
                    suppressed = true
                    break
                }
            }
            if !suppressed { kept.append(b) }
        }
        return kept
    }

    /// The candidate as a face, its box held inside the image (mtcnn's `limit_bboxes`).
    static func face(_ c: Candidate, width: Int, height: Int) -> DetectedFace {
        let maxX = Double(width - 1), maxY = Double(height - 1)
        let points = c.keypoints.count == 10 ? (0..<5).map { Point2D(x: c.keypoints[$0], y: c.keypoints[5 + $0]) } : []
        return DetectedFace(x1: min(max(c.x1, 0), maxX), y1: min(max(c.y1, 0), maxY),
                            x2: min(max(c.x2, 0), maxX), y2: min(max(c.y2, 0), maxY),
                            score: c.score, keypoints: points)
    }
}

extension MTCNN {
    /// The same detector looking for faces of at least `pixels`.
    public func with(minimumFaceSize pixels: Double) -> MTCNN {
        var copy = self
        copy.parameters.minimumFaceSize = pixels
        return copy
    }
}
