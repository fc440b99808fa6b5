import FusionTraining
import Foundation
import MerdDaemon
import StreamEngine
import TestSupport
import Testing

@Suite("merd analyze")
struct AnalyzeCommandTests {
    static let clip = TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg")

    static func events(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// An untrained (randomly initialised) fusion model over `inputs`, written as merd writes one
    /// (`digested`: with its weights' sha256 in model.json, as `merd train` writes it).
    static func fusionModel(_ inputs: [FusionInput], digested: Bool = false) throws -> String {
        let directory = NSTemporaryDirectory() + "merd-fusion-\(UUID().uuidString)"
        let architecture = FusionArchitecture(inputs: inputs, structure: .parallel, head: .jdev, alignedSize: 8, hiddenSize: 16)
        let empty = FusionDataset(names: ["a", "b"], labels: [0, 1], valence: [0, 1],
                                  features: Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, [Float](repeating: 0.1, count: 2 * $0.size)) }),
                                  sizes: Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.size) }))
        var options = FusionTrainingOptions()
        options.epochs = 1
        let model = try FusionTrainer.train(architecture, training: empty, validation: empty, options: options).model
        try FusionModelFile.save(try FusionEnsemble(members: [.init(structure: .parallel, weight: 1, folds: [model])]), to: directory,
                                 digest: { digested ? try? ModelIntegrity.sha256(of: $0) : nil })
        return directory
    }

    @Test("without models: hello, status, the utterance with null emotion and valence, status; seq counts up")
    func noModels() throws {
        let result = try MerdProcess.run("analyze", Self.clip, "--models", "/nonexistent")
        #expect(result.status == 0, "\(result.stderr)")
        let events = Self.events(result.stdout)
        #expect(events.map { $0["type"] as? String } == ["hello", "status", "utterance", "status"], "\(result.stdout)")
        #expect(events[0]["schema"] as? Int == 1 && (events[0]["labels"] as? [String])?.count == 6)
        let utterance = events[2]
        #expect(abs((utterance["start"] as? Double ?? 0) - 0.49) < 0.1 && abs((utterance["end"] as? Double ?? 0) - 2.21) < 0.1)
        #expect(utterance["emotion"] is NSNull && utterance["valence"] is NSNull && utterance["confidence"] is NSNull)
        #expect((utterance["modalities"] as? [String: Any])?["audio"] as? Bool == false)
        #expect(events.dropFirst().compactMap { $0["seq"] as? Int } == [1, 2, 3])
        #expect(result.stderr.contains("no HuBERT model"))
    }

    @Test("with HuBERT and a fusion model on its layers: emotion, valence and confidence are filled")
    func withModels() throws {
        let fusion = try Self.fusionModel([3, 4, 5].map { FusionInput(name: "HL\($0)", size: 32) })
        defer { try? FileManager.default.removeItem(atPath: fusion) }
        let result = try MerdProcess.run("analyze", Self.clip, "--hubert", TestPaths.fixture("hubert/large"), "--fusion", fusion,
                                         "--layers", "3,4,5")
        #expect(result.status == 0, "\(result.stderr)")
        let utterance = try #require(Self.events(result.stdout).first { $0["type"] as? String == "utterance" })
        let emotion = try #require(utterance["emotion"] as? [String: Any])
        let probabilities = try #require(emotion["probs"] as? [String: Double])
        #expect(Set(probabilities.keys) == Set(FusionArchitecture.merLabels))
        #expect(abs(probabilities.values.reduce(0, +) - 1) < 0.01)
        // The label is the most probable (probabilities are rounded to 3 places, so allow a tie).
        let label = try #require(emotion["label"] as? String)
        #expect(probabilities[label]! >= probabilities.values.max()! - 0.001)
        let valence = try #require(utterance["valence"] as? Double)
        #expect((-5...5).contains(valence))
        #expect((0...1).contains(utterance["confidence"] as? Double ?? -1))
        #expect((utterance["modalities"] as? [String: Any])?["audio"] as? Bool == true)
    }

    @Test("a fusion model that needs the face encoders, and no face path: said on stderr, emotion stays null, never invented")
    func fusionNeedsFaces() throws {
        let fusion = try Self.fusionModel([FusionInput(name: "HL3", size: 32), FusionInput(name: "MR", size: 16)])
        defer { try? FileManager.default.removeItem(atPath: fusion) }
        let result = try MerdProcess.run("analyze", Self.clip, "--hubert", TestPaths.fixture("hubert/large"), "--fusion", fusion, "--layers", "3",
                                         "--no-faces")
        #expect(result.status == 0)
        #expect(result.stderr.contains("MR"))
        let utterance = try #require(Self.events(result.stdout).first { $0["type"] as? String == "utterance" })
        #expect(utterance["emotion"] is NSNull && utterance["valence"] is NSNull)
        let source = try #require(utterance["source"] as? [String: Any])
        #expect(source["emotion"] is NSNull && source["valence"] is NSNull)
    }

    @Test("no fusion model, the pretrained face model: the utterance's emotion is the face model's over its frames, and says so")
    func emotionFromTheFace() throws {
        try #require(TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models (CI runs it)")
        let result = try MerdProcess.run("analyze", Self.clip, "--hubert", TestPaths.fixture("hubert/large"), "--layers", "3",
                                         "--fusion", "none")
        #expect(result.status == 0, "\(result.stderr)")
        let events = Self.events(result.stdout)
        let utterance = try #require(events.first { $0["type"] as? String == "utterance" })
        let emotion = try #require(utterance["emotion"] as? [String: Any], "\(utterance)")
        let probabilities = try #require(emotion["probs"] as? [String: Double])
        #expect(Set(probabilities.keys) == Set(FusionArchitecture.merLabels) && abs(probabilities.values.reduce(0, +) - 1) < 0.01)
        let source = try #require(utterance["source"] as? [String: Any])
        #expect(source["emotion"] as? String == "face:mini-xception-fer2013")
        // mini-Xception gives no valence or arousal, and no speech-emotion model is loaded.
        #expect(utterance["valence"] is NSNull && source["valence"] is NSNull && utterance["arousal"] is NSNull)
        // hello lists every model with its licence and, from its manifest, its sha256.
        let hello = try #require(events.first { $0["type"] as? String == "hello" })
        let details = try #require(hello["model_details"] as? [[String: Any]])
        let face = try #require(details.first { $0["role"] as? String == "face" })
        #expect(face["name"] as? String == "mini-xception-fer2013" && face["license"] as? String == "MIT")
        #expect((face["sha256"] as? String)?.count == 64)
        #expect(details.contains { $0["role"] as? String == "speech-features" } && details.contains { $0["role"] as? String == "face-detector" })
        let faces = events.filter { $0["type"] as? String == "face" }
        #expect(faces.allSatisfy { ($0["source"] as? [String: Any])?["emotion"] as? String == "face:mini-xception-fer2013" || $0["emotion"] is NSNull })
    }

    @Test("a speech-emotion model in the models directory: utterances carry its valence and arousal, and say so; hello lists it")
    func speechEmotionModel() throws {
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The tiny random model of the published family (parity with transformers is tested in
        // StreamEngineTests): the wiring is what this checks, not the numbers.
        try FileManager.default.createSymbolicLink(atPath: root + "/w2v2-msp-dim", withDestinationPath: TestPaths.fixture("speech-emotion/tiny"))
        let result = try MerdProcess.run("analyze", Self.clip, "--models", root, "--no-faces")
        #expect(result.status == 0, "\(result.stderr)")
        let events = Self.events(result.stdout)
        let utterance = try #require(events.first { $0["type"] as? String == "utterance" })
        let source = try #require(utterance["source"] as? [String: Any])
        let valence = try #require(utterance["valence"] as? Double, "\(utterance)")
        let arousal = try #require(utterance["arousal"] as? Double)
        #expect((-5...5).contains(valence) && (-5...5).contains(arousal))
        #expect(source["valence"] as? String == "speech:w2v2-msp-dim" && source["arousal"] as? String == "speech:w2v2-msp-dim")
        #expect(utterance["emotion"] is NSNull && source["emotion"] is NSNull, "no face and no fusion model: no emotion")
        let details = (events.first?["model_details"] as? [[String: Any]]) ?? []
        #expect(details.contains { $0["role"] as? String == "speech-emotion" && $0["name"] as? String == "w2v2-msp-dim" })
    }

    @Test("EmotiEffLib's face model with the pretrained detector, no fusion: face events carry valence and arousal, utterances take emotion and valence from the face, and say so")
    func emotiEffLibFace() throws {
        let pretrained = try #require(TestPaths.pretrainedModels, "needs tools/fetch-default-models (CI runs it)")
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for folder in ["mtcnn", "dlib-landmarks-68"] {
            try FileManager.default.createSymbolicLink(atPath: "\(root)/\(folder)", withDestinationPath: "\(pretrained)/\(folder)")
        }
        // A narrow random-weight model of the published architecture (its parity with timm is
        // tested in StreamEngineTests): the wiring is what this checks, not the judgement.
        try FileManager.default.createSymbolicLink(atPath: root + "/emotiefflib-enet-b0-va",
                                                   withDestinationPath: TestPaths.fixture("vision/emotiefflib-enet-b0-va"))
        let result = try MerdProcess.run("analyze", Self.clip, "--models", root)
        #expect(result.status == 0, "\(result.stderr)")
        let events = Self.events(result.stdout)
        let faces = events.filter { $0["type"] as? String == "face" }
        try #require(!faces.isEmpty, "\(result.stdout)")
        for face in faces {
            #expect(face["valence"] is Double && face["arousal"] is Double, "\(face)")
            #expect((face["probs8"] as? [String: Double])?.count == 8)
            #expect((face["source"] as? [String: Any])?["valence"] as? String == "face:emotiefflib-enet-b0-va")
        }
        let utterance = try #require(events.first { $0["type"] as? String == "utterance" })
        let source = try #require(utterance["source"] as? [String: Any])
        #expect(utterance["emotion"] is [String: Any] && source["emotion"] as? String == "face:emotiefflib-enet-b0-va", "\(utterance)")
        #expect(utterance["valence"] is Double && source["valence"] as? String == "face:emotiefflib-enet-b0-va")
        #expect(utterance["arousal"] is Double && source["arousal"] as? String == "face:emotiefflib-enet-b0-va")
    }

    @Test("a missing file is a usage error")
    func missing() throws {
        let result = try MerdProcess.run("analyze", "/nonexistent.mp4", "--models", "/nonexistent")
        #expect(result.status == 2 && result.stderr.contains("/nonexistent.mp4"))
    }

    /// The warnings of a run without models (info and above by default) go at `error`; the
    /// events are the same; a level that is none is a usage error, said in one line.
    @Test("--log-level: error leaves out the warnings and no event; a bad level exits 2 with one line naming the levels")
    func logLevel() throws {
        let quiet = try MerdProcess.run("analyze", Self.clip, "--models", "/nonexistent", "--log-level", "error")
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("no HuBERT model"), "\(quiet.stderr)")
        #expect(Self.events(quiet.stdout).map { $0["type"] as? String } == ["hello", "status", "utterance", "status"], "\(quiet.stdout)")
        let bad = try MerdProcess.run("analyze", Self.clip, "--models", "/nonexistent", "--log-level", "loud")
        #expect(bad.status == 2 && bad.stdout.isEmpty)
        #expect(bad.stderr.contains("\"loud\"") && bad.stderr.contains("warning"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1, "one line: \(bad.stderr)")
    }
}
