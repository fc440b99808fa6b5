import Foundation
@testable import StreamEngine
import TestSupport
import Testing

@Suite("Known face encoders: one table of folder, feature name and loader")
struct KnownFaceEncoderTests {
    /// The committed random-weight fixture of each known encoder, by folder.
    static let fixtures = ["mini-xception-fer2013": "mini_xception_random.safetensors", "resnet50-ferplus": "resnet50_narrow_random.safetensors",
                           "manet-rafdb": "manet_narrow_random.safetensors",
                           "emotiefflib-enet-b0-va": "emotiefflib-enet-b0-va/model.safetensors", "emotiefflib-enet-b2": "emotiefflib-enet-b2/model.safetensors"]

    /// A models directory of links to the fixtures: the detector, the landmarks and `encoders`.
    struct ModelsDirectory {
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString)"

        init(encoders: [String]) throws {
            try install("mtcnn", "model.safetensors", from: VisionFixtures.path("mtcnn_random.safetensors"))
            try install("dlib-landmarks-68", VisionModels.landmarkFile, from: VisionFixtures.dlibModel)
            for folder in encoders {
                try install(folder, "model.safetensors", from: VisionFixtures.path(KnownFaceEncoderTests.fixtures[folder]!))
            }
        }

        func install(_ folder: String, _ file: String, from source: String) throws {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/\(folder)/\(file)", withDestinationPath: source)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test("the table: the pipeline's order (EmotiEffLib's valence model first), distinct folders and visual features, found by feature")
    func table() {
        #expect(KnownFaceEncoder.all.map(\.folder) == ["emotiefflib-enet-b0-va", "emotiefflib-enet-b2", "mini-xception-fer2013", "resnet50-ferplus", "manet-rafdb"])
        #expect(KnownFaceEncoder.all.map(\.feature) == [.visual("EN"), .visual("EN2"), .visual("MX"), .visual("RF"), .visual("MR")])
        #expect(KnownFaceEncoder.encoder(for: .visual("EN"))?.folder == "emotiefflib-enet-b0-va")
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
        let directory = try ModelsDirectory(encoders: ["manet-rafdb", "mini-xception-fer2013"])
        defer { directory.remove() }
        let root = directory.root
        let models = try VisionModels(directory: root)
        #expect(models.encoderNames == ["mini-xception-fer2013", "manet-rafdb"])
        #expect(models.encoders.map(\.featureName) == ["MX", "MR"])
        // EmotiEffLib's B0, with its config.json, comes first once installed.
        for file in ["model.safetensors", "config.json"] {
            try directory.install("emotiefflib-enet-b0-va", file, from: VisionFixtures.path("emotiefflib-enet-b0-va/\(file)"))
        }
        let withEN = try VisionModels(directory: root)
        #expect(withEN.encoderNames == ["emotiefflib-enet-b0-va", "mini-xception-fer2013", "manet-rafdb"])
        #expect(withEN.encoders.first?.affectScale == -1...1 && withEN.encoders.first?.crop == .detectorBox)
    }

    /// Where merd runs dense products on OpenBLAS (an AVX2-only CPU on which OpenBLAS timed
    /// faster at start), it runs the large CNN encoders' convolutions on oneDNN
    /// (`Compute.standardEncoders`); mini-Xception and MTCNN stay on the process's choice.
    @Test("the large CNN encoders are created with their own compute choice, mini-Xception and MTCNN with the process's",
          .enabled(if: FileManager.default.fileExists(atPath: VisionFixtures.dlibModel), "needs libdlib-data"))
    func encoderCompute() throws {
        let directory = try ModelsDirectory(encoders: ["manet-rafdb", "mini-xception-fer2013"])
        defer { directory.remove() }
        let root = directory.root
        for file in ["model.safetensors", "config.json"] {
            try directory.install("emotiefflib-enet-b0-va", file, from: VisionFixtures.path("emotiefflib-enet-b0-va/\(file)"))
        }
        #expect(KnownFaceEncoder.all.filter(\.largeCNN).map(\.folder) == ["emotiefflib-enet-b0-va", "emotiefflib-enet-b2", "resnet50-ferplus", "manet-rafdb"])
        for (process, encoders) in [(Compute.openBLAS, Compute.oneDNN), (.oneDNN, .openBLAS), (.openBLAS, .openBLAS)] {
            let models = try Compute.withSettings(process) { try VisionModels(directory: root, encoderCompute: encoders) }
            let b0 = try #require(models.encoders.first as? EmotiEffLibEncoder)
            let maNet = try #require(models.encoders.first { $0 is MANet } as? MANet)
            let miniXception = try #require(models.encoders.first { $0 is MiniXception } as? MiniXception)
            #expect(b0.network.stem.compute == encoders && maNet.stem.compute == encoders, "\(process), encoders \(encoders)")
            #expect(miniXception.head.compute == process && miniXception.stem.allSatisfy { $0.compute == process }, "\(process), encoders \(encoders)")
            let proposal = models.detector.networks.proposal
            #expect((proposal.blocks.map(\.conv) + [proposal.faceScore]).allSatisfy { $0.compute == process }, "MTCNN on \(process)")
        }
    }

    @Test("every known encoder's classes fold onto MER's six; AffectNet's as the table says")
    func folding() throws {
        let mer = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
        for known in KnownFaceEncoder.all {
            let encoder = try known.load(VisionFixtures.path(Self.fixtures[known.folder]!))
            for label in encoder.labels {
                #expect(VisualEstimate.merLabel[label].map(mer.contains) == true, "\(known.folder): \(label)")
            }
        }
        let affectNet = EmotiEffLibEncoder.affectNetLabels  // Anger, Contempt, Disgust, Fear, Happiness, Neutral, Sadness, Surprise
        let folded = try #require(VisualEstimate.fold([0.05, 0.1, 0.05, 0.2, 0.3, 0.1, 0.15, 0.05], labels: affectNet, onto: mer))
        let expected: [Float] = [0.1, 0.2, 0.3, 0.15, 0.2, 0.05]
        #expect(zip(folded, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(folded)")
    }

    @Test("valence on AffectNet's [-1, 1] maps to merd's [-5, 5], held inside it")
    func valenceScale() {
        #expect(VisualEstimate.merValence(0.5, from: -1...1) == 2.5)
        #expect(VisualEstimate.merValence(-1, from: -1...1) == -5 && VisualEstimate.merValence(0, from: -1...1) == 0)
        #expect(VisualEstimate.merValence(1.3, from: -1...1) == 5 && VisualEstimate.merValence(-2, from: -1...1) == -5)
    }
}
