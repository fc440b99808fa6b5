import Foundation
@testable import StreamEngine
import TestSupport
import Testing

@Suite("Known face encoders: one table of folder, feature name and loader")
struct KnownFaceEncoderTests {
    /// The committed random-weight fixture of each known encoder, by folder.
    static let fixtures = ["mini-xception-fer2013": "mini_xception_random.safetensors", "resnet50-ferplus": "resnet50_narrow_random.safetensors",
                           "manet-rafdb": "manet_narrow_random.safetensors"]

    @Test("the table: the pipeline's order, distinct folders and visual features, found by feature")
    func table() {
        #expect(KnownFaceEncoder.all.map(\.folder) == ["mini-xception-fer2013", "resnet50-ferplus", "manet-rafdb"])
        #expect(KnownFaceEncoder.all.map(\.feature) == [.visual("MX"), .visual("RF"), .visual("MR")])
        #expect(VisionModels.encoderFolders == KnownFaceEncoder.all.map(\.folder))
        #expect(KnownFaceEncoder.encoder(for: .visual("MR"))?.folder == "manet-rafdb")
        #expect(KnownFaceEncoder.encoder(for: .speechLayer(18)) == nil && KnownFaceEncoder.encoder(for: .visual("XX")) == nil)
    }

    @Test("each entry's loader gives an encoder of the entry's feature")
    func loaders() throws {
        for known in KnownFaceEncoder.all {
            let encoder = try known.load(VisionFixtures.path(Self.fixtures[known.folder]!))
            #expect(encoder.feature == known.feature && encoder.featureName == known.feature.description, "\(known.folder)")
        }
        let wrong = VisionFixtures.path("mini_xception_random.safetensors")
        #expect(throws: VisionModelError.self) { try KnownFaceEncoder.encoder(for: .visual("MR"))!.load(wrong) }
    }

    @Test("a models directory loads the encoders it has, in the table's order",
          .enabled(if: FileManager.default.fileExists(atPath: VisionFixtures.dlibModel), "needs libdlib-data"))
    func directory() throws {
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func install(_ folder: String, _ file: String, from source: String) throws {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/\(folder)/\(file)", withDestinationPath: source)
        }
        try install("mtcnn", "model.safetensors", from: VisionFixtures.path("mtcnn_random.safetensors"))
        try install("dlib-landmarks-68", VisionModels.landmarkFile, from: VisionFixtures.dlibModel)
        for folder in ["manet-rafdb", "mini-xception-fer2013"] {
            try install(folder, "model.safetensors", from: VisionFixtures.path(Self.fixtures[folder]!))
        }
        let models = try VisionModels(directory: root)
        #expect(models.encoderNames == ["mini-xception-fer2013", "manet-rafdb"])
        #expect(models.encoders.map(\.featureName) == ["MX", "MR"])
    }
}
