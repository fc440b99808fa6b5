import Foundation
@testable import StreamEngine
import Testing

@Suite("Alignment and face quality")
struct FaceAlignerTests {
    static let aligner = FaceAligner(template: VisionFixtures.landmarkPredictor.meanShape)

    /// The template placed in an image by a known similarity.
    static func face(scale: Double, angle: Double, x: Double, y: Double) -> [Point2D] {
        let t = SimilarityTransform(a: scale * cos(angle), b: scale * sin(angle), tx: x, ty: y)
        return aligner.template.map { p in let q = t.apply(p.x, p.y); return Point2D(x: q.x, y: q.y) }
    }

    @Test("the fit recovers a known similarity, and its inverse undoes it")
    func similarity() {
        let truth = SimilarityTransform(a: 80 * cos(0.3), b: 80 * sin(0.3), tx: 40, ty: -7)
        let from = [(x: 0.1, y: 0.2), (x: 0.9, y: 0.3), (x: 0.5, y: 0.8), (x: 0.2, y: 0.7)]
        let fitted = SimilarityTransform.fit(from: from, to: from.map { truth.apply($0.x, $0.y) })
        #expect(abs(fitted.a - truth.a) < 1e-9 && abs(fitted.b - truth.b) < 1e-9 && abs(fitted.tx - truth.tx) < 1e-9)
        let back = fitted.inverse.apply(fitted.apply(3, 4).x, fitted.apply(3, 4).y)
        #expect(abs(back.x - 3) < 1e-9 && abs(back.y - 4) < 1e-9)
    }

    @Test("a tilted face is turned upright: the crop's eyes land at the same place whatever the tilt, scale and position")
    func upright() {
        func eyes(_ landmarks: [Point2D]) -> (Point2D, Point2D) {
            let crop = Self.aligner.cropTransform(landmarks: landmarks, size: 64, margin: 0.1).inverse
            func centre(_ r: ClosedRange<Int>) -> Point2D {
                let q = crop.apply(r.map { landmarks[$0].x }.reduce(0, +) / 6, r.map { landmarks[$0].y }.reduce(0, +) / 6)
                return Point2D(x: q.x, y: q.y)
            }
            return (centre(36...41), centre(42...47))
        }
        let (l0, r0) = eyes(Self.face(scale: 120, angle: 0, x: 50, y: 60))
        let (l1, r1) = eyes(Self.face(scale: 90, angle: 0.4, x: 200, y: 10))
        for (a, b) in [(l0, l1), (r0, r1)] { #expect(abs(a.x - b.x) < 1e-6 && abs(a.y - b.y) < 1e-6) }
        // The template's eyes are level to within a few hundredths of the eye distance.
        #expect(abs(l0.y - r0.y) < 0.05 * abs(r0.x - l0.x))
    }

    @Test("verdicts: good, too small, too turned, poor fit")
    func verdicts() {
        #expect(Self.aligner.quality(Self.face(scale: 120, angle: 0.2, x: 50, y: 60)).verdict == .good)
        #expect(Self.aligner.quality(Self.face(scale: 20, angle: 0, x: 5, y: 5)).verdict == .tooSmall)
        // A face turned to one side: the near half of the outline squeezed towards the nose.
        var turned = Self.face(scale: 120, angle: 0, x: 50, y: 60)
        let noseX = turned[30].x
        for i in turned.indices where turned[i].x > noseX { turned[i].x = noseX + (turned[i].x - noseX) * 0.15 }
        let yaw = Self.aligner.quality(turned)
        #expect(yaw.verdict == .tooTurned, "yaw \(yaw.yaw)")
        var scrambled = Self.face(scale: 120, angle: 0, x: 50, y: 60)
        for i in 0..<17 { scrambled[i].y -= 60 }  // the jaw line pulled up over the eyes
        #expect(Self.aligner.quality(scrambled).verdict == .poorFit)
    }

    @Test("the rectangle from five keypoints frames the face as from its 68 landmarks")
    func rectangles() {
        let landmarks = Self.face(scale: 110, angle: 0.1, x: 80, y: 70)
        func mean(_ r: ClosedRange<Int>) -> Point2D {
            Point2D(x: r.map { landmarks[$0].x }.reduce(0, +) / Double(r.count), y: r.map { landmarks[$0].y }.reduce(0, +) / Double(r.count))
        }
        let keypoints = [mean(36...41), mean(42...47), landmarks[30], landmarks[48], landmarks[54]]
        let a = Self.aligner.rectangle(keypoints: keypoints), b = Self.aligner.rectangle(landmarks: landmarks)
        #expect(abs(a.left - b.left) <= 1 && abs(a.top - b.top) <= 1 && abs(a.right - b.right) <= 1 && abs(a.bottom - b.bottom) <= 1)
        #expect(abs(b.width - 111) <= 1)
    }
}
