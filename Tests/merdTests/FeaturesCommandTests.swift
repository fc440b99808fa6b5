import Foundation
import NeuralKit
import TestSupport
import Testing

@Suite("merd features audio")
struct FeaturesCommandTests {
    static let model = TestPaths.fixture("hubert/large")
    static let clip = TestPaths.sharedData("grid/bbaf2n.mpg")

    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "merd-\(UUID().uuidString)-\(name)" }

    @Test("pooled and per-frame features of a video's audio track; pooled is the mean of the frames")
    func pooledAndFrames() throws {
        let pooledPath = temporary("pooled.safetensors"), framesPath = temporary("frames.safetensors")
        defer { for p in [pooledPath, framesPath] { try? FileManager.default.removeItem(atPath: p) } }
        let pooled = try MerdProcess.run("features", "audio", "--model", Self.model, "--layers", "2,5", Self.clip, "--out", pooledPath)
        #expect(pooled.status == 0, "\(pooled.stderr)")
        let frames = try MerdProcess.run("features", "audio", "--model", Self.model, "--layers", "2,5", "--pool", "none",
                                         Self.clip, "--out", framesPath)
        #expect(frames.status == 0, "\(frames.stderr)")
        let p = try SafeTensorsFile(path: pooledPath), f = try SafeTensorsFile(path: framesPath)
        #expect(p.names == ["layer2", "layer5"] && f.names == ["layer2", "layer5"])
        // 3 s of 44.1 kHz audio: 16 kHz gives about 48000 samples, 149 or 150 frames of 20 ms.
        let perFrame = try f.tensor("layer5")
        #expect(perFrame.shape[1] == 32 && (145...150).contains(perFrame.shape[0]), "\(perFrame.shape)")
        #expect(p.metadata["frames"] == "\(perFrame.shape[0])")
        let values = perFrame.scalars, (t, d) = (perFrame.shape[0], perFrame.shape[1])
        let mean = (0..<d).map { j in (0..<t).map { values[$0 * d + j] }.reduce(0, +) / Float(t) }
        let pooledValues = try p.tensor("layer5").scalars
        #expect(zip(mean, pooledValues).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test("usage errors exit 2, undecodable input exits 1, each with one line naming the problem")
    func errors() throws {
        let out = temporary("x.safetensors")
        let badLayer = try MerdProcess.run("features", "audio", "--model", Self.model, "--layers", "2,9", Self.clip, "--out", out)
        #expect(badLayer.status == 2 && badLayer.stderr.contains("layer 9"))
        let noModel = try MerdProcess.run("features", "audio", "--model", "/nonexistent", Self.clip, "--out", out)
        #expect(noModel.status == 2 && noModel.stderr.contains("/nonexistent/config.json"))
        let text = temporary("notes.txt")
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: text))
        defer { try? FileManager.default.removeItem(atPath: text) }
        let notMedia = try MerdProcess.run("features", "audio", "--model", Self.model, "--layers", "1", text, "--out", out)
        #expect(notMedia.status == 1 && notMedia.stderr.contains("not a media file"), "\(notMedia.stderr)")
        let noInput = try MerdProcess.run("features", "audio", "--model", Self.model, "--layers", "1", "/nonexistent.wav", "--out", out)
        #expect(noInput.status == 2 && noInput.stderr.contains("/nonexistent.wav"))
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written on failure")
        for result in [badLayer, noModel, notMedia, noInput] {
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        }
    }
}
