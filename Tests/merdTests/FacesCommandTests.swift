import Foundation
import TestSupport
import Testing

@Suite("merd faces")
struct FacesCommandTests {
    static let clip = TestPaths.sharedData("grid/bbaf2n.mpg")

    /// A models directory holding the random-weight fixtures and Debian's landmark model: the
    /// command's plumbing, not its accuracy (the pretrained models' tests cover that).
    static func fixtureModels() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("merd-models-\(UUID().uuidString)").path
        let fm = FileManager.default
        for folder in ["mtcnn", "dlib-landmarks-68", "mini-xception-fer2013"] { try fm.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true) }
        try fm.copyItem(atPath: TestPaths.fixture("vision/mtcnn_random.safetensors"), toPath: "\(root)/mtcnn/model.safetensors")
        try fm.copyItem(atPath: TestPaths.fixture("vision/mini_xception_random.safetensors"), toPath: "\(root)/mini-xception-fer2013/model.safetensors")
        try fm.createSymbolicLink(atPath: "\(root)/dlib-landmarks-68/shape_predictor_68_face_landmarks.dat",
                                  withDestinationPath: "/usr/share/dlib/shape_predictor_68_face_landmarks.dat")
        return root
    }

    @Test("one JSON line per sampled frame, with frame index and time")
    func lines() throws {
        let models = try Self.fixtureModels()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let result = try MerdProcess.run(["faces", Self.clip, "--models", models, "--every", "25"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.map { $0["frame"] as! Int } == [0, 25, 50])
        #expect(objects.allSatisfy { Set($0.keys) == ["frame", "time", "detected", "tracked", "faces"] })
        #expect(abs((objects[1]["time"] as! Double) - (objects[0]["time"] as! Double) - 1.0) < 1e-6)
    }

    @Test("with the pretrained models: a face in every GRID frame, 68 landmarks, FER probabilities, and a drawing",
          .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models"))
    func pretrained() throws {
        let drawings = FileManager.default.temporaryDirectory.appendingPathComponent("merd-draw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: drawings) }
        let result = try MerdProcess.run(["faces", Self.clip, "--every", "15", "--draw", drawings, "--models", TestPaths.pretrainedModels!])
        #expect(result.status == 0, "\(result.stderr)")
        for line in result.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let face = try #require((object["faces"] as! [[String: Any]]).first)
            #expect((face["landmarks"] as! [[Double]]).count == 68)
            #expect(((face["quality"] as! [String: Any])["verdict"] as! String) == "good")
            let probs = face["probs"] as! [String: Double]
            #expect(probs.count == 7 && abs(probs.values.reduce(0, +) - 1) < 1e-3)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: drawings).sorted() == (0..<5).map { String(format: "frame%05d.png", $0 * 15) })
    }

    @Test("missing models, missing input, bad --every: usage errors that say what to do")
    func errors() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("merd-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let noModels = try MerdProcess.run(["faces", Self.clip, "--models", empty])
        #expect(noModels.status == 2 && noModels.stderr.contains("tools/fetch-default-models"), "\(noModels.stderr)")
        let models = try Self.fixtureModels()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let noInput = try MerdProcess.run(["faces", "/nonexistent.mp4", "--models", models])
        #expect(noInput.status == 2 && noInput.stderr.contains("/nonexistent.mp4"), "\(noInput.stderr)")
        #expect(try MerdProcess.run(["faces", Self.clip, "--every", "0"]).status == 2)
    }
}
