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

@Suite("merd features video")
struct FeaturesVideoCommandTests {
    static let clips = ["bbaf2n", "lbax4n"].map { TestPaths.sharedData("grid/\($0).mpg") }
    static let wav = TestPaths.sharedData("emodb/wav/03a01Fa.wav")

    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "merd-\(UUID().uuidString)-\(name)" }

    @Test("rows in the labels CSV's order; HL<k> equal to merd features audio's pooled states; audio-only clips too")
    func audioRows() throws {
        let out = temporary("dataset.safetensors"), labels = temporary("labels.csv"), single = temporary("single.safetensors")
        let empty = temporary("models")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { for p in [out, labels, single, empty] { try? FileManager.default.removeItem(atPath: p) } }
        try "name,discrete,valence\n03a01Fa,happy,2\nlbax4n,neutral,0\nbbaf2n,neutral,0.5\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let result = try MerdProcess.run(["features", "video", "--models", empty, "--hubert", FeaturesCommandTests.model, "--layers", "2,5",
                                          "--labels", labels, "--out", out] + Self.clips + [Self.wav])
        #expect(result.status == 0, "\(result.stderr)")
        let file = try SafeTensorsFile(path: out)
        #expect(file.names == ["HL2", "HL5"] && file.metadata["clips"] == "03a01Fa,lbax4n,bbaf2n")
        let rows = try file.tensor("HL5")
        #expect(rows.shape == [3, 32])
        let alone = try MerdProcess.run("features", "audio", "--model", FeaturesCommandTests.model, "--layers", "5", Self.clips[0], "--out", single)
        #expect(alone.status == 0)
        #expect(rows.rows(2..<3).reshaped([32]).maxAbsoluteDifference(try SafeTensorsFile(path: single).tensor("layer5")) == 0)
    }

    @Test("a labels CSV naming a clip that is not among the inputs, or no models at all: usage errors")
    func errors() throws {
        let labels = temporary("labels.csv"), empty = temporary("models")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { for p in [labels, empty] { try? FileManager.default.removeItem(atPath: p) } }
        try "name,discrete,valence\nsomething_else,happy,1\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let unknown = try MerdProcess.run(["features", "video", "--models", empty, "--hubert", FeaturesCommandTests.model, "--layers", "2",
                                           "--labels", labels, "--out", temporary("x")] + Self.clips)
        #expect(unknown.status == 2 && unknown.stderr.contains("something_else"), "\(unknown.stderr)")
        let none = try MerdProcess.run(["features", "video", "--models", empty, "--out", temporary("x")] + Self.clips)
        #expect(none.status == 2 && none.stderr.contains("tools/fetch-default-models"), "\(none.stderr)")
    }

    @Test("with the pretrained visual models: MX rows are the mean mini-Xception embedding of the clip's faces",
          .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models"))
    func faces() throws {
        let out = temporary("faces.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try MerdProcess.run(["features", "video", "--every", "5", "--hubert", FeaturesCommandTests.model, "--layers", "2",
                                          "--models", TestPaths.pretrainedModels!, "--out", out] + Self.clips + [Self.wav])
        #expect(result.status == 0, "\(result.stderr)")
        let mx = try SafeTensorsFile(path: out).tensor("MX")
        #expect(mx.shape == [3, 128])
        let values = mx.scalars
        #expect(values[0..<256].contains { $0 != 0 } && values[256..<384].allSatisfy { $0 == 0 })
        #expect(result.stderr.contains("no usable face in 03a01Fa"))
    }
}

extension FeaturesVideoCommandTests {
    @Test("EmotiEffLib's encoder installed (the random-weight fixture beside the pretrained detector and landmarks): EN rows, the first encoder's, 128-d here",
          .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models"))
    func emotiEffLibFeature() throws {
        let models = temporary("models"), out = temporary("en.safetensors")
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        defer { for p in [models, out] { try? FileManager.default.removeItem(atPath: p) } }
        for name in ["mtcnn", "dlib-landmarks-68"] {
            try FileManager.default.createSymbolicLink(atPath: models + "/" + name, withDestinationPath: TestPaths.pretrainedModels! + "/" + name)
        }
        try FileManager.default.createSymbolicLink(atPath: models + "/emotiefflib-enet-b0-va",
                                                   withDestinationPath: TestPaths.fixture("vision/emotiefflib-enet-b0-va"))
        let result = try MerdProcess.run(["features", "video", "--every", "15", "--models", models, "--out", out] + Self.clips)
        #expect(result.status == 0, "\(result.stderr)")
        let file = try SafeTensorsFile(path: out)
        #expect(file.names == ["EN"])
        let en = try file.tensor("EN")
        #expect(en.shape == [2, 128] && en.scalars.allSatisfy(\.isFinite) && en.scalars.contains { $0 != 0 })
    }
}

@Suite("merd eval under noise")
struct EvalNoiseCommandTests {
    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "merd-\(UUID().uuidString)-\(name)" }

    @Test("a model trained on features of real clips is scored clean and at each SNR, one table row per condition; augmented copies stay in their clip's fold")
    func table() throws {
        let files = ["03a01Fa", "03a01Nc", "03a01Wa", "08a01Fd", "08a01Lc", "08a01Na", "09a01Fa", "09a01Wb"]
        let media = files.map { TestPaths.sharedData("emodb/wav/\($0).wav") }
        let labels = temporary("labels.csv"), features = temporary("features.safetensors"), model = temporary("model")
        let noise = temporary("noise"), empty = temporary("models")
        for directory in [noise, empty] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: TestPaths.sharedData("emodb/wav/11a01Ld.wav"), toPath: noise + "/babble.wav")
        try "this is not audio".write(toFile: noise + "/README", atomically: true, encoding: .utf8)
        defer { for p in [labels, features, model, noise, empty, features.replacingOccurrences(of: ".safetensors", with: ".labels.csv")] { try? FileManager.default.removeItem(atPath: p) } }
        let label = ["F": "happy", "N": "neutral", "W": "angry", "L": "neutral"]
        try ("name,discrete,valence\n" + files.map { "\($0),\(label[String($0.dropFirst(5).prefix(1))]!),\($0.contains("F") ? 2 : 0)" }.joined(separator: "\n") + "\n")
            .write(toFile: labels, atomically: true, encoding: .utf8)
        let hubert = FeaturesCommandTests.model
        let extracted = try MerdProcess.run(["features", "video", "--models", empty, "--hubert", hubert, "--layers", "2,3", "--labels", labels,
                                             "--augment", "audio-snr=5:11", "--copies", "2", "--noise-dir", noise, "--out", features] + media)
        #expect(extracted.status == 0, "\(extracted.stderr)")
        #expect(try SafeTensorsFile(path: features).tensor("HL2").shape == [24, 32])
        let augmentedLabels = features.replacingOccurrences(of: ".safetensors", with: ".labels.csv")
        let trained = try MerdProcess.run(["train", "--features", features, "--labels", augmentedLabels, "--structure", "1",
                                           "--epochs", "3", "--folds", "2", "--out", model])
        #expect(trained.status == 0, "\(trained.stderr)")
        // How fast it trained: 24 clips, 2 folds of 12 each trained on the other's 12, 3 epochs.
        let rate = trained.stderr.split(separator: "\n").first { $0.hasPrefix("merd: structure 1 trained in ") }
            .map { $0.split(whereSeparator: { " :".contains($0) }) }
        let seconds = rate.flatMap { Double($0[5]) }, clipsPerSecond = rate.flatMap { Double($0[7]) }
        #expect(seconds.map { $0 > 0 } == true && clipsPerSecond.map { abs($0 * seconds! - 72) <= $0 * 0.005 + 0.5 } == true,  // seconds printed to 0.01
                "\(trained.stderr)")
        let evaluated = try MerdProcess.run(["eval", "--model", model, "--labels", labels, "--models", empty, "--hubert", hubert,
                                             "--noise-dir", noise, "--snr", "20,5"] + media)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let rows = evaluated.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| condition") }
        #expect(rows.map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) } == ["clean", "speech noise 20 dB", "speech noise 5 dB"],
                "\(evaluated.stdout)")
        for row in rows {
            let numbers = row.split(separator: "|").dropFirst().compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            #expect(numbers.count == 3 && (0...1).contains(numbers[0]) && numbers[1] >= 0 && abs(numbers[2] - (numbers[0] - 0.25 * numbers[1])) < 2e-4)
        }
        let bad = try MerdProcess.run(["eval", "--model", model, "--labels", labels, "--image", "sharpen"] + media)
        #expect(bad.status == 2 && bad.stderr.contains("sharpen"))
    }
}
