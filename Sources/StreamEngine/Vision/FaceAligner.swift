import Foundation

/// How usable a face is, from its 68 landmarks.
public struct FaceQuality: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable {
        case good
        /// Eyes closer than `FaceAligner.minimumInterocular` pixels: too few pixels to read.
        case tooSmall = "too_small"
        /// Turned far from the camera: the crop would show one side of the face.
        case tooTurned = "too_turned"
        /// The landmarks do not fit the face template (occlusion, or the landmark model lost it).
        case poorFit = "poor_fit"
    }

    /// Distance between the eye centres, in pixels.
    public var interocular: Double
    /// Left–right asymmetry of the nose tip between the face's sides along the eye line,
    /// −1…1 (0 frontal; ±0.6 is roughly a 45° turn).
    public var yaw: Double
    /// RMS distance between the landmarks and the fitted template, in interocular distances.
    public var fitError: Double
    public var verdict: Verdict
}

/// Aligns faces to a canonical pose: a similarity transform (rotation, scale, shift) from
/// the 68 landmarks to a template, then a bilinear crop of the size an encoder wants. The
/// template is the landmark model's own mean shape, so an aligned crop frames the face as the
/// landmark model's training boxes did (brow to chin, ear to ear), upright and centred.
public struct FaceAligner: Sendable {
    /// The template, in the unit face rectangle (68 points for the iBUG scheme).
    public let template: [Point2D]

    public static let minimumInterocular = 12.0
    public static let maximumYaw = 0.6
    public static let maximumFitError = 0.3

    public init(template: [Point2D]) {
        precondition(template.count == 68, "the aligner's quality checks use the 68-point iBUG scheme; got \(template.count) points")
        self.template = template
    }

    /// The template's face box: the bounding box of its points.
    private var templateBox: (x: Double, y: Double, side: Double) {
        let xs = template.map(\.x), ys = template.map(\.y)
        let (minX, maxX, minY, maxY) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        return ((minX + maxX) / 2, (minY + maxY) / 2, max(maxX - minX, maxY - minY))
    }

    /// Maps crop pixels to image pixels for a `size`-pixel crop with `margin` (fraction of the
    /// face size) on each side.
    public func cropTransform(landmarks: [Point2D], size: Int, margin: Double) -> SimilarityTransform {
        let box = templateBox
        let scale = Double(size) / (box.side * (1 + 2 * margin))
        let target = template.map { (x: ($0.x - box.x) * scale + Double(size) / 2 - 0.5, y: ($0.y - box.y) * scale + Double(size) / 2 - 0.5) }
        let imageToCrop = SimilarityTransform.fit(from: landmarks.map { (x: $0.x, y: $0.y) }, to: target)
        return imageToCrop.inverse
    }

    /// The aligned crop, RGB 0…255.
    public func align(_ image: RGBImage, landmarks: [Point2D], size: Int, margin: Double) -> AlignedFace {
        let transform = cropTransform(landmarks: landmarks, size: size, margin: margin)
        return AlignedFace(size: size, rgb: ImageResampling.warp(image, transform, width: size, height: size).values)
    }

    public func quality(_ landmarks: [Point2D]) -> FaceQuality {
        precondition(landmarks.count == 68, "68 landmarks expected, got \(landmarks.count)")
        func centre(_ range: ClosedRange<Int>) -> Point2D {
            let points = range.map { landmarks[$0] }
            return Point2D(x: points.map(\.x).reduce(0, +) / Double(points.count), y: points.map(\.y).reduce(0, +) / Double(points.count))
        }
        func distance(_ p: Point2D, _ q: Point2D) -> Double { hypot(p.x - q.x, p.y - q.y) }
        let interocular = distance(centre(36...41), centre(42...47))
        // Nose tip (30) against the face outline at eye level (jaw points 1 and 15), measured
        // along the eye line: turning the head brings the nose towards the far outline.
        let eyeLine = (x: centre(42...47).x - centre(36...41).x, y: centre(42...47).y - centre(36...41).y)
        let length = max(hypot(eyeLine.x, eyeLine.y), .leastNormalMagnitude)
        func along(_ p: Point2D) -> Double { ((p.x - landmarks[30].x) * eyeLine.x + (p.y - landmarks[30].y) * eyeLine.y) / length }
        let (left, right) = (abs(along(landmarks[1])), abs(along(landmarks[15])))
        let yaw = left + right > 0 ? (left - right) / (left + right) : 0
        let fit = SimilarityTransform.fit(from: template.map { (x: $0.x, y: $0.y) }, to: landmarks.map { (x: $0.x, y: $0.y) })
        var squared = 0.0
        for (t, p) in zip(template, landmarks) {
            let q = fit.apply(t.x, t.y)
            squared += (q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y)
        }
        let fitError = interocular > 0 ? (squared / Double(landmarks.count)).squareRoot() / interocular : .infinity
        let verdict: FaceQuality.Verdict
        if interocular < Self.minimumInterocular {
            verdict = .tooSmall
        } else if abs(yaw) > Self.maximumYaw {
            verdict = .tooTurned
        } else if fitError > Self.maximumFitError {
            verdict = .poorFit
        } else {
            verdict = .good
        }
        return FaceQuality(interocular: interocular, yaw: yaw, fitError: fitError, verdict: verdict)
    }

    /// The landmark model's rectangle for a face given by five keypoints (eyes, nose tip, mouth
    /// corners): the unit rectangle of the template placed by the similarity that best maps the
    /// template's matching points onto the keypoints. A detector's own box (MTCNN's is taller
    /// than dlib's) would start the landmark cascade off its training distribution.
    public func rectangle(keypoints: [Point2D]) -> FaceRectangle {
        precondition(keypoints.count == 5, "five keypoints expected")
        func mean(_ range: ClosedRange<Int>) -> (x: Double, y: Double) {
            (range.map { template[$0].x }.reduce(0, +) / Double(range.count), range.map { template[$0].y }.reduce(0, +) / Double(range.count))
        }
        let reference = [mean(36...41), mean(42...47), (template[30].x, template[30].y), (template[48].x, template[48].y), (template[54].x, template[54].y)]
        return Self.rectangle(for: SimilarityTransform.fit(from: reference, to: keypoints.map { (x: $0.x, y: $0.y) }))
    }

    /// The rectangle of a face whose 68 landmarks are known (tracking from the previous frame).
    public func rectangle(landmarks: [Point2D]) -> FaceRectangle {
        Self.rectangle(for: SimilarityTransform.fit(from: template.map { (x: $0.x, y: $0.y) }, to: landmarks.map { (x: $0.x, y: $0.y) }))
    }

    /// The unit square under `unitToImage`, as an axis-aligned integer rectangle (rotation is
    /// left to the landmark cascade, which handles in-plane tilt).
    static func rectangle(for unitToImage: SimilarityTransform) -> FaceRectangle {
        let centre = unitToImage.apply(0.5, 0.5)
        let side = unitToImage.scale
        return FaceRectangle(left: Int((centre.x - side / 2).rounded()), top: Int((centre.y - side / 2).rounded()),
                             right: Int((centre.x + side / 2).rounded()), bottom: Int((centre.y + side / 2).rounded()))
    }
}
