import Foundation
import TestSupport
import Testing

/// The segmenter's visual gate through `merd analyze` (pretrained face models, Silero VAD):
/// a GRID speaker says their sentence, is silent, then says it again backwards (the video
/// reversed, so the face never jumps), while an EmoDB speaker off camera talks throughout.
@Suite("merd analyze: the visual gate (GRID speaker, off-camera talker, pretrained models)",
       .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models (CI runs it)"))
struct VisualGateCommandTests {
    /// lbax4n's speech, within 20 dB of its peak: 0.46–1.99 s, and reversed 4.01–5.54 s.
    static let subject = [(0.46, 1.99), (4.01, 5.54)]

    static func video() throws -> String {
        let output = CorpusFixtures.temporary("gate.mp4")
        let clip = TestPaths.sharedData("grid/lbax4n.mpg")
        let graph = "[1:v]reverse[rv];[1:a]areverse[ra];[0:v][0:a][rv][ra]concat=n=2:v=1:a=1[v][s];"
            + "[2:a]aresample=44100,volume=0.5[b];[s][b]amix=inputs=2:duration=first:normalize=0[a]"
        _ = try ProcessOutput.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", clip, "-i", clip,
                                                      "-stream_loop", "-1", "-i", TestPaths.sharedData("emodb/wav/11a01Ab.wav"),
                                                      "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                                                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", output])
        return output
    }

    static func utterances(_ path: String, _ extra: [String]) throws -> [(start: Double, end: Double, visible: Bool?)] {
        let result = try MerdProcess.run(["analyze", path, "--models", TestPaths.pretrainedModels ?? "", "--fusion", "none"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return AnalyzeCommandTests.events(result.stdout).filter { $0["type"] as? String == "utterance" }.compactMap { event in
            guard let start = event["start"] as? Double, let end = event["end"] as? Double else { return nil }
            return (start, end, event["speaker_visible"] as? Bool)
        }
    }

    static func describe(_ utterances: [(start: Double, end: Double, visible: Bool?)]) -> String {
        utterances.map { String(format: "%.2f–%.2f (visible %@)", $0.start, $0.end, $0.visible.map { "\($0)" } ?? "-") }.joined(separator: ", ")
    }

    @Test("the subject's two sentences come out apart, the talk between them as an unseen speaker's; without the gate the first runs on into it")
    func apart() throws {
        let video = try Self.video()
        defer { try? FileManager.default.removeItem(atPath: video) }
        let gated = try Self.utterances(video, [])
        let plain = try Self.utterances(video, ["--no-visual-gate"])
        print("Visual gate on: \(Self.describe(gated)); off: \(Self.describe(plain))")
        // Each of the subject's sentences is one utterance, spoken by the face, ending within
        // 0.3 s of the speech.
        for (start, end) in Self.subject {
            let covering = gated.filter { $0.start < end && $0.end > start }
            #expect(covering.count == 1 && covering[0].visible == true, "\(start)–\(end): \(Self.describe(covering))")
            #expect(covering.allSatisfy { $0.start > start - 0.5 && $0.end < end + 0.3 }, "\(start)–\(end): \(Self.describe(covering))")
        }
        // The off-camera talker between them: utterances no visible face spoke.
        let between = gated.filter { $0.start >= Self.subject[0].1 && $0.end <= Self.subject[1].0 }
        #expect(!between.isEmpty && between.allSatisfy { $0.visible == false }, "\(Self.describe(between))")
        // Voice alone: the first sentence runs on into the other talker.
        #expect(plain.contains { $0.start < Self.subject[0].0 && $0.end > Self.subject[0].1 + 1 }, "\(Self.describe(plain))")
        // engine.require_visible_speaker drops the unseen talker's utterances and keeps the subject's.
        let visible = try Self.utterances(video, ["--require-visible-speaker"])
        #expect(visible.count == 2 && visible.allSatisfy { $0.visible == true }, "\(Self.describe(visible))")
    }
}
