@testable import StreamEngine
import Testing

@Suite("Face tracks")
struct FaceTrackerTests {
    typealias Box = FaceTracker.Box

    static func box(x: Double, y: Double = 100, size: Double = 100) -> Box { Box(x1: x, y1: y, x2: x + size, y2: y + size) }

    @Test("two faces side by side keep their ids, whatever order the detector lists them in")
    func sideBySide() {
        var tracker = FaceTracker()
        let first = tracker.update(time: 0, faces: [Self.box(x: 50), Self.box(x: 400)])
        #expect(first == [1, 2])
        for step in 1...50 {
            let jitter = Double(step % 3) * 2
            let faces = [Self.box(x: 50 + jitter), Self.box(x: 400 - jitter)]
            let ids = tracker.update(time: Double(step) / 10, faces: step.isMultiple(of: 2) ? faces : faces.reversed())
            #expect(ids == (step.isMultiple(of: 2) ? [1, 2] : [2, 1]), "frame \(step)")
        }
    }

    @Test("faces crossing, one hidden behind the other for 0.4 s: each keeps its id on the far side")
    func crossing() {
        var tracker = FaceTracker()
        var seen: [Int: [Double]] = [:]  // id → x of the faces it was given
        for step in 0...40 {
            let t = Double(step) / 10
            let a = 50 + 200 * t, b = 850 - 200 * t  // meet at t = 2
            var faces: [(Double, String)] = [(a, "a")]
            if abs(a - b) > 60 { faces.append((b, "b")) }  // b behind a while they overlap
            let ids = tracker.update(time: t, faces: faces.map { Self.box(x: $0.0) })
            for (id, face) in zip(ids, faces) { seen[id, default: []].append(face.1 == "a" ? 1 : 2) }
        }
        #expect(seen.count == 2, "ids given: \(seen.keys.sorted())")
        #expect(seen.values.allSatisfy { Set($0).count == 1 }, "an id moved between the faces: \(seen)")
    }

    @Test("a face out of view for less than the absence limit comes back under its id; after it, under a new one")
    func leavingAndReturning() {
        var parameters = FaceTracker.Parameters()
        parameters.absenceSeconds = 2
        var tracker = FaceTracker(parameters: parameters)
        #expect(tracker.update(time: 0, faces: [Self.box(x: 50), Self.box(x: 400)]) == [1, 2])
        // The right face leaves for 1.5 s and comes back a little further right.
        for step in 1...15 { #expect(tracker.update(time: Double(step) / 10, faces: [Self.box(x: 50)]) == [1]) }
        #expect(tracker.update(time: 1.6, faces: [Self.box(x: 50), Self.box(x: 470)]) == [1, 2])
        // Then for 2.5 s: past the limit, a new id (3), never 2 again.
        for step in 17...41 { #expect(tracker.update(time: Double(step) / 10, faces: [Self.box(x: 50)]) == [1]) }
        #expect(tracker.update(time: 4.2, faces: [Self.box(x: 50), Self.box(x: 400)]) == [1, 3])
        // A newcomer far from any lost track is a new face too.
        #expect(tracker.update(time: 4.3, faces: [Self.box(x: 50), Self.box(x: 400), Self.box(x: 250, y: 300, size: 60)]) == [1, 3, 4])
    }

    @Test("a face that comes back at another size or far away is someone else")
    func notTheSame() {
        var tracker = FaceTracker()
        #expect(tracker.update(time: 0, faces: [Self.box(x: 50)]) == [1])
        #expect(tracker.update(time: 0.5, faces: []) == [])
        #expect(tracker.update(time: 1, faces: [Self.box(x: 50, size: 200)]) == [2])
        var other = FaceTracker()
        #expect(other.update(time: 0, faces: [Self.box(x: 50)]) == [1])
        #expect(other.update(time: 1, faces: [Self.box(x: 600)]) == [2])
    }
}
