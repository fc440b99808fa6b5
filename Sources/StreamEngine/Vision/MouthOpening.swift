/// How far a face's mouth is open, from its 68 landmarks, over the eye distance (so the
/// face's size and distance drop out): what `ActiveSpeaker` sets against the sound.
/// Two gaps, because the lips move apart in two ways: the inner gap opens with the jaw and
/// shuts on /p b m/; the outer one also follows the lips' rounding and spreading.
public struct MouthOpening: Sendable, Equatable {
    /// Between the inner lips: 61–63 above 67–65.
    public var inner: Double
    /// Between the outer lips: 50–52 above 58–56.
    public var outer: Double

    public init(inner: Double, outer: Double) {
        self.inner = inner
        self.outer = outer
    }

    /// The two gaps as a vector, in `ActiveSpeaker`'s order.
    var measures: [Double] { [inner, outer] }

    /// From 68 landmarks in dlib's order, or nil for another layout (or eyes closer than a
    /// pixel: no face to speak of).
    public static func measure(_ landmarks: [Point2D]) -> MouthOpening? {
        guard landmarks.count == 68 else { return nil }
        func centre(_ range: ClosedRange<Int>) -> Point2D {
            var x = 0.0, y = 0.0
            for index in range {
                x += landmarks[index].x
                y += landmarks[index].y
            }
            let count = Double(range.count)
            return Point2D(x: x / count, y: y / count)
        }
        func distance(_ a: Point2D, _ b: Point2D) -> Double {
            let dx = a.x - b.x, dy = a.y - b.y
            return (dx * dx + dy * dy).squareRoot()
        }
        func gap(_ pairs: [(Int, Int)]) -> Double {
            pairs.reduce(0) { $0 + distance(landmarks[$1.0], landmarks[$1.1]) } / Double(pairs.count)
        }
        let eyes = distance(centre(36...41), centre(42...47))
        guard eyes > 1 else { return nil }
        return MouthOpening(inner: gap([(61, 67), (62, 66), (63, 65)]) / eyes, outer: gap([(50, 58), (51, 57), (52, 56)]) / eyes)
    }
}
