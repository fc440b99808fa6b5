import CaptureFile
import Foundation
@testable import StreamEngine
import TestSupport
import Testing

@Suite("The face pipeline on GRID's talking faces (pretrained models)",
       .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
struct FacePipelineTests {
    static let clips = ["bbaf2n", "brbk7n", "id2_vcd_swwp2s", "lbax4n", "lbbc2a", "lrwp9a", "sbwe5n"]

    static func frames(_ clip: String) throws -> [RGBImage] {
        let reader = try VideoFileReader(path: TestPaths.sharedData("grid/\(clip).mpg"))
        var images: [RGBImage] = []
        while let frame = try reader.nextFrame() { images.append(RGBImage(frame)!) }
        return images
    }

    @Test("faces found and encoded in ≥ 95 % of frames; landmarks steady from frame to frame")
    func gridClips() throws {
        let models = try VisionModels(directory: VisionFixtures.modelsDirectory!)
        var frames = 0, found = 0, tracked = 0
        var jitter: [Double] = []
        for clip in Self.clips {
            var pipeline = models.makePipeline()
            var previous: [Point2D]?
            for image in try Self.frames(clip) {
                frames += 1
                let analysis = pipeline.analyze(image)
                guard let face = analysis.primary, face.quality.verdict == .good, !face.encodings.isEmpty else {
                    previous = nil
                    continue
                }
                found += 1
                if analysis.tracked { tracked += 1 }
                if let previous {
                    let moved = zip(previous, face.landmarks).map { hypot($0.x - $1.x, $0.y - $1.y) }
                    jitter.append(moved.reduce(0, +) / Double(moved.count) / face.quality.interocular)
                }
                previous = face.landmarks
            }
        }
        jitter.sort()
        let median = jitter[jitter.count / 2], p95 = jitter[jitter.count * 95 / 100]
        print("GRID faces: \(found)/\(frames) frames (\(tracked) tracked); landmark motion per frame, in eye distances: median \(median), 95th percentile \(p95)")
        #expect(Double(found) >= 0.95 * Double(frames))
        // The speakers sit still and talk: between frames 40 ms apart the 68 points move a few
        // hundredths of the eye distance (lips and jaw most), never jumping about.
        #expect(median < 0.05 && p95 < 0.12)
    }

    @Test("tracking from the previous frame lands where detecting anew does")
    func trackingAgrees() throws {
        let models = try VisionModels(directory: VisionFixtures.modelsDirectory!)
        var tracking = models.makePipeline()
        var options = FacePipeline.Options()
        options.tracking = false
        var detecting = models.makePipeline(options: options)
        var differences: [Double] = []
        for image in try Self.frames("lbax4n") {
            let a = tracking.analyze(image), b = detecting.analyze(image)
            guard let p = a.primary, let q = b.primary else { continue }
            let moved = zip(p.landmarks, q.landmarks).map { hypot($0.x - $1.x, $0.y - $1.y) }
            differences.append(moved.reduce(0, +) / Double(moved.count) / q.quality.interocular)
        }
        let mean = differences.reduce(0, +) / Double(differences.count)
        print("tracked vs detected landmarks: mean difference \(mean) eye distances over \(differences.count) frames")
        #expect(differences.count >= 70 && mean < 0.05)
    }
}
