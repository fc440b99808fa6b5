import CaptureFile
import Foundation
@testable import StreamEngine
import TestSupport
import Testing

/// Several people in view, composed from GRID's talking faces: two clips side by side, one
/// leaving and coming back, two crossing. Frames are the clips' own (25 fps), every second
/// one analysed (12.5 fps, about the engine's 10).
@Suite("Face tracks on composed GRID clips (pretrained models)",
       .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
struct FaceTrackingTests {
    /// A black canvas with each image drawn at its x offset, later ones in front.
    static func compose(width: Int, _ layers: [(RGBImage, Int)]) -> RGBImage {
        let height = layers.map(\.0.height).max()!
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for (image, offset) in layers {
            for y in 0..<image.height {
                for x in 0..<image.width where offset + x >= 0 && offset + x < width {
                    for c in 0..<3 { pixels[(y * width + offset + x) * 3 + c] = image.pixels[(y * image.width + x) * 3 + c] }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func pipeline() throws -> FacePipeline {
        var options = FacePipeline.Options()
        options.maximumFaces = 4
        return try VisionModels(directory: VisionFixtures.modelsDirectory!).makePipeline(options: options)
    }

    /// Runs `frames` (with the x centre of each person's image in them) through the pipeline;
    /// returns, per track id, the people it was given to (the nearest image centre).
    static func identities(_ frames: [(image: RGBImage, centres: [String: Double], time: Double)]) throws -> (byID: [Int: Set<String>], seen: [[Int]]) {
        var pipeline = try pipeline()
        var byID: [Int: Set<String>] = [:]
        var seen: [[Int]] = []
        for frame in frames {
            let analysis = pipeline.analyze(frame.image, time: frame.time)
            seen.append(analysis.faces.map(\.id))
            for face in analysis.faces {
                let x = (face.observation.detection.x1 + face.observation.detection.x2) / 2
                let person = frame.centres.min { abs($0.value - x) < abs($1.value - x) }!.key
                byID[face.id, default: []].insert(person)
            }
        }
        return (byID, seen)
    }

    @Test("two clips side by side: two tracks, each always the same person; the right one leaves for 1 s and comes back under its id")
    func sideBySideAndReturning() throws {
        let left = try FacePipelineTests.frames("lbax4n"), right = try FacePipelineTests.frames("bbaf2n")
        var frames: [(image: RGBImage, centres: [String: Double], time: Double)] = []
        for index in stride(from: 0, to: min(left.count, right.count), by: 2) {
            let away = (30..<55).contains(index)  // 1 s out of view
            let layers = away ? [(left[index], 0)] : [(left[index], 0), (right[index], 380)]
            frames.append((Self.compose(width: 740, layers), ["left": 180, "right": 560], Double(index) / 25))
        }
        let (byID, seen) = try Self.identities(frames)
        print("Side by side, the right one away 1.2–2.2 s: ids per frame \(seen)")
        #expect(byID.count == 2, "ids: \(byID)")
        #expect(byID.values.allSatisfy { $0.count == 1 }, "an id given to both people: \(byID)")
        // Both in view before it leaves; after it comes back, found again at the next full
        // detection (tracking follows known faces and looks for new ones every
        // `redetectInterval` frames).
        #expect(seen[..<15].allSatisfy { $0.count == 2 })
        let back = try #require(seen[28...].firstIndex { $0.count == 2 }, "never found again: \(seen)")
        #expect(back - 28 <= FacePipeline.Options().redetectInterval && seen[back...].allSatisfy { $0.count == 2 }, "\(seen)")
    }

    @Test("two people crossing, one hidden behind the other: each keeps an id of its own")
    func crossing() throws {
        let a = try FacePipelineTests.frames("lbax4n"), b = try FacePipelineTests.frames("bbaf2n")
        let count = min(a.count, b.count)
        var frames: [(image: RGBImage, centres: [String: Double], time: Double)] = []
        for index in stride(from: 0, to: count, by: 2) {
            let progress = Double(index) / Double(count - 1)
            let xa = Int(540 * progress), xb = 540 - xa
            // b behind a: hidden while the two images nearly coincide.
            frames.append((Self.compose(width: 900, [(b[index], xb), (a[index], xa)]),
                           ["a": Double(xa + 180), "b": Double(xb + 180)], Double(index) / 25))
        }
        let (byID, seen) = try Self.identities(frames)
        print("Crossing: ids per frame \(seen); people per id \(byID)")
        #expect(byID.values.allSatisfy { $0.count == 1 }, "an id moved between the two people: \(byID)")
        #expect(Set(byID.values.flatMap { $0 }) == ["a", "b"])
        #expect(byID.count == 2, "a person's track broke: \(byID)")
    }
}

/// Which face speaks, on composed GRID clips: a talking face beside one that only listens
/// (a still frame of another clip). Frames go as the engine takes them: analysed at 10 of
/// GRID's 25 fps, the mouths followed in the others. (Two talking faces, every pair of the
/// seven clips, through the whole engine: `SpeakerCommandTests`.)
@Suite("Active speaker on composed GRID clips (pretrained models)",
       .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
struct ActiveSpeakerTests {
    /// Mouth openings per track, and which side each track was on.
    static func mouths(left: [RGBImage], right: [RGBImage]) throws -> (mouths: [Int: ActiveSpeaker.MouthSeries], side: [Int: String]) {
        var pipeline = try FaceTrackingTests.pipeline()
        var mouths: [Int: ActiveSpeaker.MouthSeries] = [:]
        var side: [Int: String] = [:]
        var lastAnalysed = -Double.infinity
        for index in 0..<min(left.count, right.count) {
            let time = Double(index) / 25
            let image = FaceTrackingTests.compose(width: 740, [(left[index], 0), (right[index], 380)])
            // The engine's sampling at engine.face_fps = 10 (Engine.analyzeFrames).
            guard time - lastAnalysed >= 0.1 - 0.005 else {
                for (track, opening) in pipeline.followMouths(image) { mouths[track, default: []].append((time, opening)) }
                continue
            }
            lastAnalysed = time
            for face in pipeline.analyze(image, time: time).faces {
                guard let opening = MouthOpening.measure(face.observation.landmarks) else { continue }
                mouths[face.id, default: []].append((time, opening))
                side[face.id] = (face.observation.detection.x1 + face.observation.detection.x2) / 2 < 370 ? "left" : "right"
            }
        }
        return (mouths, side)
    }

    /// The sound's bands for the clip's utterance, as the engine has them: the segmenter's
    /// utterance and `ActiveSpeaker.leadSeconds` of the audio before it.
    static func bands(_ clip: String) throws -> ActiveSpeaker.SpeechBands {
        let audio = try AudioFileReader.decodeMono16k(TestPaths.sharedData("grid/\(clip).mpg"))
        var segmenter = EnergySegmenter()
        let events = segmenter.process(audio) + segmenter.finish()
        let utterance = try #require(events.compactMap { if case .utterance(let u) = $0 { u } else { nil } }.first)
        let from = max(0, utterance.startSample - Int(ActiveSpeaker.leadSeconds * 16000))
        return try #require(ActiveSpeaker.SpeechBands(samples: audio[from..<utterance.endSample], sampleRate: 16000,
                                                      start: Double(from) / 16000))
    }

    /// The frames of `mouths` within the bands' span, as the engine takes them.
    static func within(_ mouths: [Int: ActiveSpeaker.MouthSeries], _ bands: ActiveSpeaker.SpeechBands) -> [Int: ActiveSpeaker.MouthSeries] {
        mouths.mapValues { $0.filter { $0.time >= bands.start && $0.time <= bands.end } }
    }

    @Test("a talking face beside one that only listens: the talker; two still faces: no visible speaker")
    func listenerAndStill() throws {
        let talker = try FacePipelineTests.frames("lbax4n")
        let still = [RGBImage](repeating: try FacePipelineTests.frames("bbaf2n")[10], count: talker.count)
        let (mouths, side) = try Self.mouths(left: still, right: talker)
        let bands = try Self.bands("lbax4n")
        let judged = ActiveSpeaker.judge(mouths: Self.within(mouths, bands), bands: bands)
        let chosen = try #require(judged.speaker, "\(judged)")
        #expect(side[chosen.track] == "right", "\(chosen)")
        let talkerStill = [RGBImage](repeating: talker[10], count: talker.count)
        let (stillMouths, _) = try Self.mouths(left: still, right: talkerStill)
        let none = ActiveSpeaker.judge(mouths: Self.within(stillMouths, bands), bands: bands)
        print("Listener beside a talker: \(judged); two still faces: \(none)")
        #expect(none == .noVisibleSpeaker)
    }
}
