import Foundation
import Locking
import TestSupport
import Testing

/// Who spoke, through `merd analyze` with the pretrained face models and Silero VAD (its
/// default detector), on videos ffmpeg composes from GRID clips and re-encodes (H.264):
/// two faces side by side with the voice of one, then of the other; and two still faces
/// (photos) with a voice from off camera.
@Suite("merd analyze: the speaking face (composed GRID clips, pretrained models)",
       .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models (CI runs it)"))
struct SpeakerCommandTests {
    static func clip(_ name: String) -> String { TestPaths.sharedData("grid/\(name).mpg") }

    /// `left` and `right` side by side (GRID's 360 × 288 each), twice over; the sound of
    /// `left` the first time and of `right` the second: one speaker, then the other, the
    /// faces staying where they are.
    static func swappedHalfway(left: String, right: String) throws -> String {
        let output = CorpusFixtures.temporary("swapped.mp4")
        let graph = "[0:v][1:v]hstack=inputs=2[first];[2:v][3:v]hstack=inputs=2[second];[first][0:a][second][3:a]concat=n=2:v=1:a=1[v][a]"
        _ = try ProcessOutput.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", clip(left), "-i", clip(right), "-i", clip(left), "-i", clip(right),
                                                      "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                                                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", output])
        return output
    }

    /// Frame 10 of `left` and of `right`, held for their clip's length, side by side, with the
    /// sound of `voice`: faces in view that never move their lips while someone speaks.
    static func stillFaces(left: String, right: String, voice: String) throws -> String {
        let output = CorpusFixtures.temporary("still.mp4")
        let hold = "select=eq(n\\,10),loop=loop=74:size=1:start=0,setpts=N/25/TB"
        let graph = "[0:v]\(hold)[l];[1:v]\(hold)[r];[l][r]hstack=inputs=2[v]"
        _ = try ProcessOutput.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", clip(left), "-i", clip(right), "-i", clip(voice),
                                                      "-filter_complex", graph, "-map", "[v]", "-map", "2:a",
                                                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", output])
        return output
    }

    static func analyze(_ path: String, _ extra: [String] = []) throws -> [[String: Any]] {
        let result = try MerdProcess.run(["analyze", path, "--models", TestPaths.pretrainedModels ?? "", "--fusion", "none"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return AnalyzeCommandTests.events(result.stdout)
    }

    /// Each track id's side (its box's centre left or right of the middle, 360 px), from the
    /// face events' tracks.
    static func sides(_ events: [[String: Any]]) -> [Int: Set<String>] {
        var sides: [Int: Set<String>] = [:]
        for event in events where event["type"] as? String == "face" {
            for track in event["tracks"] as? [[String: Any]] ?? [] {
                guard let id = track["id"] as? Int, let box = track["box"] as? [Double], box.count == 4 else { continue }
                sides[id, default: []].insert(box[0] + box[2] / 2 < 360 ? "left" : "right")
            }
        }
        return sides
    }

    @Test("two talking faces, the voice of the left one then of the right one, over every pair of the seven clips: the speaking track is right for ≥ 95 % of the 42 utterances; the two ids never change sides")
    func swapped() throws {
        let clips = ["bbaf2n", "brbk7n", "id2_vcd_swwp2s", "lbax4n", "lbbc2a", "lrwp9a", "sbwe5n"]
        var right = 0, total = 0
        var lines: [String] = []
        let pairs = clips.indices.flatMap { i in clips[(i + 1)...].map { (clips[i], $0) } }
        // Two pairs at a time: each `merd analyze` keeps about one core busy, and the 21 of
        // them one after another took 82 s of CI's time. The checks come after, on this thread.
        let results = Locked<[Int: Result<(events: [[String: Any]], stderr: String, status: Int32), any Error>]>([:])
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                let index = next.withLock { value in defer { value += 1 }; return value }
                guard index < pairs.count else { return }
                let result = Result { () throws -> (events: [[String: Any]], stderr: String, status: Int32) in
                    let video = try Self.swappedHalfway(left: pairs[index].0, right: pairs[index].1)
                    defer { try? FileManager.default.removeItem(atPath: video) }
                    let run = try MerdProcess.run(["analyze", video, "--models", TestPaths.pretrainedModels ?? "", "--fusion", "none"])
                    return (AnalyzeCommandTests.events(run.stdout), run.stderr, run.status)
                }
                results.withLock { $0[index] = result }
            }
        }
        for (index, (left, rightClip)) in pairs.enumerated() {
            do {
                let run = try results.withLock { $0[index]! }.get()
                #expect(run.status == 0, "\(left)|\(rightClip): \(run.stderr)")
                let events = run.events
                let sides = Self.sides(events)
                // Two faces, each under one id the whole time, each id on one side.
                #expect(sides.count == 2 && sides.values.allSatisfy { $0.count == 1 }, "\(left)|\(rightClip): \(sides)")
                let utterances = events.filter { $0["type"] as? String == "utterance" }
                #expect(utterances.count == 2, "\(left)|\(rightClip): \(utterances)")
                for (utterance, expected) in zip(utterances, ["left", "right"]) {
                    total += 1
                    let speaker = utterance["speaker"] as? [String: Any]
                    let track = speaker?["track"] as? Int
                    if let track, sides[track] == [expected] { right += 1 }
                    lines.append("\(left)|\(rightClip), voice on the \(expected): track \(track.map(String.init) ?? "none") "
                                 + "(\(track.flatMap { sides[$0]?.first } ?? "-")), confidence \(speaker?["confidence"] as? Double ?? 0)")
                    #expect(utterance["speaker_visible"] as? Bool == true, "\(utterance)")
                    let confidence = speaker?["confidence"] as? Double ?? 0
                    #expect(confidence > 0 && confidence < 0.7)
                    let modalities = utterance["modalities"] as? [String: Any]
                    #expect((modalities?["face_frames"] as? Int ?? 0) > 0)
                }
            } catch {
                Issue.record(error, "\(left)|\(rightClip)")
            }
        }
        print("Speaking face through merd analyze, \(right)/\(total) right:\n" + lines.joined(separator: "\n"))
        #expect(total == 42)
        #expect(Double(right) >= 0.95 * Double(total), "\(right) of \(total)")
    }

    @Test("two still faces and a voice: speaker null, speaker_visible false; with --require-visible-speaker the utterance is left out, the faces still reported")
    func offCamera() throws {
        let video = try Self.stillFaces(left: "bbaf2n", right: "brbk7n", voice: "lbax4n")
        defer { try? FileManager.default.removeItem(atPath: video) }
        let events = try Self.analyze(video)
        let utterances = events.filter { $0["type"] as? String == "utterance" }
        #expect(utterances.count == 1, "\(utterances)")
        for utterance in utterances {
            #expect(utterance["speaker"] is NSNull && utterance["speaker_visible"] as? Bool == false, "\(utterance)")
        }
        #expect(Self.sides(events).count == 2)
        let required = try Self.analyze(video, ["--require-visible-speaker"])
        #expect(!required.contains { $0["type"] as? String == "utterance" })
        #expect(required.contains { $0["type"] as? String == "face" })
        #expect(required.last?["type"] as? String == "status")
    }
}
