import Foundation

/// A 2-D similarity (rotation, uniform scale, translation): (x, y) ↦ (a·x − b·y + tx, b·x + a·y + ty).
public struct SimilarityTransform: Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var tx: Double
    public var ty: Double

    public static let identity = SimilarityTransform(a: 1, b: 0, tx: 0, ty: 0)

    public init(a: Double, b: Double, tx: Double, ty: Double) {
        self.a = a
        self.b = b
        self.tx = tx
        self.ty = ty
    }

    /// The least-squares similarity taking `from[i]` to `to[i]` (Umeyama 1991, restricted to
    /// proper rotations, as dlib's `find_similarity_transform`): with both point sets centred,
    /// a = Σ x·x′ / Σ|x|², b = Σ x×x′ / Σ|x|². Computed in Double.
    public static func fit(from: [(x: Double, y: Double)], to: [(x: Double, y: Double)]) -> SimilarityTransform {
        precondition(from.count == to.count && from.count >= 2, "a similarity needs two or more point pairs")
        let n = Double(from.count)
        let (fromX, fromY) = (from.map(\.x).reduce(0, +) / n, from.map(\.y).reduce(0, +) / n)
        let (toX, toY) = (to.map(\.x).reduce(0, +) / n, to.map(\.y).reduce(0, +) / n)
        var dot = 0.0, cross = 0.0, norm = 0.0
        for (p, q) in zip(from, to) {
            let (px, py) = (p.x - fromX, p.y - fromY)
            let (qx, qy) = (q.x - toX, q.y - toY)
            dot += px * qx + py * qy
            cross += px * qy - py * qx
            norm += px * px + py * py
        }
        guard norm > 0 else { return SimilarityTransform(a: 1, b: 0, tx: toX - fromX, ty: toY - fromY) }
        let a = dot / norm, b = cross / norm
        return SimilarityTransform(a: a, b: b, tx: toX - (a * fromX - b * fromY), ty: toY - (b * fromX + a * fromY))
    }

    public func apply(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        (a * x - b * y + tx, b * x + a * y + ty)
    }

    /// The scale factor (|a + ib|).
    public var scale: Double { (a * a + b * b).squareRoot() }

    /// The rotation in radians.
    public var angle: Double { atan2(b, a) }

    public var inverse: SimilarityTransform {
        let s = a * a + b * b
        let (ia, ib) = (a / s, -b / s)
        return SimilarityTransform(a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty))
    }
}
