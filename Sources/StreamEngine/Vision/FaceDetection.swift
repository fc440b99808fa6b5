/// A face a detector found: its box, its score and five keypoints.
public struct DetectedFace: Sendable, Equatable {
    /// Corners in image pixels (x1, y1) top-left, (x2, y2) bottom-right, as mtcnn reports them.
    public var x1: Double
    public var y1: Double
    public var x2: Double
    public var y2: Double
    /// The detector's face probability.
    public var score: Double
    /// Eye on the image's left, eye on the image's right, nose tip, mouth corner on the left,
    /// mouth corner on the right (mtcnn's left_eye, right_eye, nose, mouth_left, mouth_right).
    public var keypoints: [Point2D]

    public init(x1: Double, y1: Double, x2: Double, y2: Double, score: Double, keypoints: [Point2D]) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.score = score
        self.keypoints = keypoints
    }

    public var width: Double { x2 - x1 }
    public var height: Double { y2 - y1 }
}

/// A point in image pixels.
public struct Point2D: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// Finds faces in an image.
public protocol FaceDetecting: Sendable {
    func detect(_ image: RGBImage) -> [DetectedFace]
}
