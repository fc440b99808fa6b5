import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The fixtures of `tools/make_efficientnet_fixtures.py`: three models-directory folders of
/// reduced-width timm EfficientNets with random weights and batch-norm statistics, and their
/// PyTorch references on merd's own crop of a GRID face.
enum EfficientNetFixtures {
    static let reference: SafeTensorsFile = try! SafeTensorsFile(path: VisionFixtures.path("efficientnet_reference.safetensors"))

    /// (folder, feature name whose crop it reads, timm architecture, outputs)
    static let models: [(folder: String, feature: String, architecture: String, outputs: Int)] = [
        ("emotiefflib-enet-b0-va", "EN", "tf_efficientnet_b0", 10),
        ("emotiefflib-enet-b2", "EN2", "tf_efficientnet_b2", 8),
        ("efficientnet-b0", "EN", "efficientnet_b0", 8),
    ]

    static func modelPath(_ folder: String) -> String { VisionFixtures.path("\(folder)/model.safetensors") }

    /// merd's crop for `feature`'s encoder (the MTCNN box, resized as Pillow does), 0…255 HWC.
    static func crop(_ feature: String) throws -> AlignedFace {
        let raw = try reference.rawBytes("crops.\(feature)")
        let side = Int(Double(raw.count / 3).squareRoot())
        return AlignedFace(size: side, rgb: raw.map { Float($0) })
    }

    /// The full-size tensor names and shapes of timm's `architecture`, in state_dict order.
    static func contract(_ architecture: String) throws -> [(name: String, shape: [Int])] {
        let text = try #require(reference.metadata["contract.\(architecture)"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]])
        return entries.map { (name: $0[0] as! String, shape: $0[1] as! [Int]) }
    }

    /// A copy of a fixture folder (model and config), with its tensors and config edited.
    static func edited(_ folder: String, tensors edit: (inout [String: Tensor]) -> Void = { _ in },
                       config: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merd-efficientnet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = try SafeTensorsFile(path: modelPath(folder))
        var tensors: [String: Tensor] = [:]
        // The I64 step counters are left out: the loader skips them when present.
        for entry in file.entries where entry.dtype.convertsToFloat32 { tensors[entry.name] = try file.tensor(entry.name) }
        edit(&tensors)
        try SafeTensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, to: directory + "/model.safetensors")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: VisionFixtures.path("\(folder)/config.json")))) as! [String: Any]
        config(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory + "/model.safetensors"
    }
}

@Suite("EfficientNet (timm) and EmotiEffLib's encoders against PyTorch")
struct EfficientNetTests {
    @Test("random-weight, reduced-width timm models (tf_efficientnet_b0 with 10 outputs, tf_efficientnet_b2 with a Sequential 8-class head, efficientnet_b0): features and outputs equal PyTorch's",
          arguments: EfficientNetFixtures.models.map(\.folder), [Compute.openBLAS, .oneDNN])
    func parity(_ folder: String, compute: Compute) throws {
        let model = try #require(EfficientNetFixtures.models.first { $0.folder == folder })
        let encoder = try Compute.withSettings(compute) {
            try EmotiEffLibEncoder(path: EfficientNetFixtures.modelPath(folder), featureName: model.feature)
        }
        #expect(encoder.network.architecture.name == model.architecture)
        let crop = try EfficientNetFixtures.crop(model.feature)
        #expect(crop.size == encoder.inputSize)
        let (features, outputs) = encoder.network(encoder.normalized(crop))
        let reference = EfficientNetFixtures.reference
        let featureError = expectClose(features, try reference.tensor("\(folder).features"), relativeToScale: VisionTolerance.network, "\(folder) features")
        let outputError = expectClose(outputs, try reference.tensor("\(folder).outputs"), relativeToScale: VisionTolerance.network, "\(folder) outputs")
        #expect(outputs.shape == [1, model.outputs])
        print("\(folder) on \(compute): max error / scale, features \(featureError), outputs \(outputError)")
    }

    @Test("enet_b0_8_va_mtl as EmotiEffLib publishes it (torch.save of the whole timm model, installed as model.pt): the same encoder as its safetensors export")
    func publishedCheckpoint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("merd-emotiefflib-pt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: TestPaths.fixture("torch/emotiefflib_enet_b0_va.pt"), toPath: folder + "/model.pt")
        try FileManager.default.copyItem(atPath: VisionFixtures.path("emotiefflib-enet-b0-va/config.json"), toPath: folder + "/config.json")
        let path = ModelWeights.path(in: folder)
        #expect(path == folder + "/model.pt")
        #expect(try openCheckpoint(path: path) is TorchCheckpoint)

        let published = try EmotiEffLibEncoder(path: path, featureName: "EN")
        let exported = try EmotiEffLibEncoder(path: EfficientNetFixtures.modelPath("emotiefflib-enet-b0-va"), featureName: "EN")
        let crop = try EfficientNetFixtures.crop("EN")
        let (a, b) = (published.encode(crop), exported.encode(crop))
        // The .pt holds the fixture's F16 values widened to F32, so the two compute the same.
        #expect(a.embedding == b.embedding && a.probabilities == b.probabilities && a.valence == b.valence && a.arousal == b.arousal)
        let outputs = published.network(published.normalized(crop)).outputs
        expectClose(outputs, try EfficientNetFixtures.reference.tensor("emotiefflib-enet-b0-va.outputs"), relativeToScale: VisionTolerance.network, "model.pt outputs")
    }

    @Test("enet_b0_8_va_mtl's head: softmax over the eight logits in EmotiEffLib's class order, then valence and arousal as they are")
    func multiTaskHead() throws {
        let encoder = try EmotiEffLibEncoder(path: EfficientNetFixtures.modelPath("emotiefflib-enet-b0-va"), featureName: "EN")
        #expect(encoder.labels == ["anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"])
        #expect(encoder.labels == EmotiEffLibEncoder.affectNetLabels.map { $0.lowercased() })
        #expect(encoder.inputSize == 224 && encoder.crop == .detectorBox && encoder.affectScale == -1...1 && encoder.embeddingSize == 128)
        let encoding = encoder.encode(try EfficientNetFixtures.crop("EN"))
        let outputs = try EfficientNetFixtures.reference.tensor("emotiefflib-enet-b0-va.outputs").scalars
        let expected = Tensor(shape: [8], scalars: Array(outputs[0..<8])).softmax().scalars
        #expect(zip(encoding.probabilities, expected).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(encoding.probabilities) vs \(expected)")
        let scale = outputs.map(abs).max()!
        #expect(abs(encoding.valence! - outputs[8]) <= 1e-4 * scale && abs(encoding.arousal! - outputs[9]) <= 1e-4 * scale)
        let features = try EfficientNetFixtures.reference.tensor("emotiefflib-enet-b0-va.features").scalars
        #expect(encoding.embedding.count == 128 && zip(encoding.embedding, features).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })

        let b2 = try EmotiEffLibEncoder(path: EfficientNetFixtures.modelPath("emotiefflib-enet-b2"), featureName: "EN2")
        let plain = b2.encode(try EfficientNetFixtures.crop("EN2"))
        #expect(b2.inputSize == 260 && b2.labels.count == 8 && b2.affectScale == nil && plain.valence == nil && plain.arousal == nil)
        #expect(abs(plain.probabilities.reduce(0, +) - 1) < 1e-5)
    }

    @Test("the loader's contract: timm's full-size tensor names and shapes, in order, for each architecture")
    func contract() throws {
        let cases: [(String, EfficientNet.Architecture, Int, Bool)] = [
            ("tf_efficientnet_b0", .init(variant: .b0, family: .tensorFlow), 10, false),
            ("tf_efficientnet_b2", .init(variant: .b2, family: .tensorFlow), 8, true),
            ("efficientnet_b0", .init(variant: .b0, family: .pytorch), 8, false),
        ]
        for (name, architecture, outputs, sequential) in cases {
            let expected = try EfficientNetFixtures.contract(name)
            let ours = architecture.tensorShapes(outputs: outputs, sequentialClassifier: sequential)
            #expect(ours.map(\.name) == expected.map(\.name), "\(name): names")
            #expect(ours.map(\.shape) == expected.map(\.shape), "\(name): shapes")
            #expect(architecture.name == name)
        }
        // The features EmotiEffLib's classifiers read: 1280 (B0) and 1408 (B2).
        #expect(EfficientNet.Architecture(variant: .b0, family: .tensorFlow).tensorShapes(outputs: 10).last!.shape == [10])
        #expect(EfficientNet.Architecture(variant: .b2, family: .tensorFlow).tensorShapes(outputs: 8).first { $0.name == "conv_head.weight" }!.shape == [1408, 352, 1, 1])
        #expect(EfficientNet.Variant.b0.stageDepths == [1, 2, 2, 3, 3, 4, 1] && EfficientNet.Variant.b2.stageDepths == [2, 3, 3, 4, 4, 5, 2])
    }

    @Test("timm's names, with tags and the old _ns suffix, give variant and family")
    func names() {
        #expect(EfficientNet.Architecture(timmName: "efficientnet_b0") == .init(variant: .b0, family: .pytorch))
        #expect(EfficientNet.Architecture(timmName: "tf_efficientnet_b0_ns") == .init(variant: .b0, family: .tensorFlow))
        #expect(EfficientNet.Architecture(timmName: "tf_efficientnet_b2.ns_jft_in1k") == .init(variant: .b2, family: .tensorFlow))
        #expect(EfficientNet.Architecture(timmName: "efficientnet_b1") == nil && EfficientNet.Architecture(timmName: "resnet50") == nil)
    }

    @Test("a missing or mis-shaped tensor, a stray one, a short stage, a NaN weight: errors naming them")
    func strict() throws {
        let folder = "emotiefflib-enet-b0-va"
        let missing = try EfficientNetFixtures.edited(folder) { $0["blocks.3.1.se.conv_reduce.bias"] = nil }
        #expect(throws: VisionModelError.weights(.missingTensor(file: missing, tensor: "blocks.3.1.se.conv_reduce.bias"))) {
            try EmotiEffLibEncoder(path: missing, featureName: "EN")
        }
        let misshaped = try EfficientNetFixtures.edited(folder) { tensors in
            let weight = tensors["blocks.2.0.conv_dw.weight"]!
            tensors["blocks.2.0.conv_dw.weight"] = Tensor(shape: [weight.shape[0], 1, 3, 3])
        }
        let channels = try SafeTensorsFile(path: EfficientNetFixtures.modelPath(folder)).entry("blocks.2.0.conv_dw.weight")!.shape[0]
        #expect(throws: VisionModelError.weights(.shapeMismatch(file: misshaped, tensor: "blocks.2.0.conv_dw.weight",
                                                                 expected: [channels, 1, 5, 5], found: [channels, 1, 3, 3]))) {
            try EmotiEffLibEncoder(path: misshaped, featureName: "EN")
        }
        let stray = try EfficientNetFixtures.edited(folder) { $0["blocks.7.0.conv_dw.weight"] = Tensor(shape: [8, 1, 3, 3]) }
        #expect(throws: VisionModelError.unknownTensors(file: stray, names: ["blocks.7.0.conv_dw.weight"])) {
            try EmotiEffLibEncoder(path: stray, featureName: "EN")
        }
        let short = try EfficientNetFixtures.edited(folder) { tensors in
            for name in tensors.keys where name.hasPrefix("blocks.5.3.") { tensors[name] = nil }
        }
        #expect(throws: VisionModelError.inconsistent(file: short, reason: "stage 5 has 3 blocks (blocks.5.*), tf_efficientnet_b0 has 4")) {
            try EmotiEffLibEncoder(path: short, featureName: "EN")
        }
        let poisoned = try EfficientNetFixtures.edited(folder) { tensors in
            var scalars = tensors["blocks.4.2.conv_pwl.weight"]!.scalars
            scalars[3] = .nan
            tensors["blocks.4.2.conv_pwl.weight"] = Tensor(shape: tensors["blocks.4.2.conv_pwl.weight"]!.shape, scalars: scalars)
        }
        #expect(throws: VisionModelError.weights(.nonFinite(file: poisoned, tensor: "blocks.4.2.conv_pwl.weight", count: 1))) {
            try EmotiEffLibEncoder(path: poisoned, featureName: "EN")
        }
        for path in [missing, misshaped, stray, short, poisoned] { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    }

    @Test("config.json: a missing file, another architecture, preprocessing merd does not do, unnamed outputs")
    func configuration() throws {
        let folder = "emotiefflib-enet-b0-va"
        let directory = NSTemporaryDirectory() + "merd-efficientnet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/model.safetensors", withDestinationPath: EfficientNetFixtures.modelPath(folder))
        #expect(throws: VisionModelError.missingFile(path: directory + "/config.json", model: "EmotiEffLib configuration")) {
            try EmotiEffLibEncoder(path: directory + "/model.safetensors", featureName: "EN")
        }
        try? FileManager.default.removeItem(atPath: directory)
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("architecture resnet50", { $0["architecture"] = "resnet50" }),
            ("crop_pct 0.875", { json in var cfg = json["pretrained_cfg"] as! [String: Any]; cfg["crop_pct"] = 0.875; json["pretrained_cfg"] = cfg }),
            ("bicubic", { json in var cfg = json["pretrained_cfg"] as! [String: Any]; cfg["interpolation"] = "bicubic"; json["pretrained_cfg"] = cfg }),
            ("nine label names", { json in json["label_names"] = Array((json["label_names"] as! [String]).prefix(9)) }),
        ]
        for (name, edit) in edits {
            let path = try EfficientNetFixtures.edited(folder, config: edit)
            #expect(throws: VisionModelError.self, "\(name)") { try EmotiEffLibEncoder(path: path, featureName: "EN") }
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        }
        let tenClasses = try EfficientNetFixtures.edited(folder, config: { $0["num_classes"] = 8; $0["label_names"] = EmotiEffLibEncoder.affectNetLabels })
        #expect(throws: VisionModelError.self, "8 outputs named, 10 in the file") { try EmotiEffLibEncoder(path: tenClasses, featureName: "EN") }
        try? FileManager.default.removeItem(atPath: (tenClasses as NSString).deletingLastPathComponent)
    }

    @Test("a full-width random tf_efficientnet_b0 (tools/make_efficientnet_fixtures.py --full-width DIR) equals PyTorch's",
          .enabled(if: ProcessInfo.processInfo.environment["MERD_EFFICIENTNET_FULL"] != nil, "set MERD_EFFICIENTNET_FULL=DIR"))
    func fullWidth() throws {
        let directory = ProcessInfo.processInfo.environment["MERD_EFFICIENTNET_FULL"]!
        let encoder = try EmotiEffLibEncoder(path: directory + "/model.safetensors", featureName: "EN")
        let reference = try SafeTensorsFile(path: directory + "/reference.safetensors")
        let raw = try reference.rawBytes("crops")
        let crop = AlignedFace(size: 224, rgb: raw.prefix(224 * 224 * 3).map { Float($0) })
        let (features, outputs) = encoder.network(encoder.normalized(crop))
        let featureError = expectClose(features, try reference.tensor("features").rows(0..<1), relativeToScale: VisionTolerance.deepNetwork, "features")
        let outputError = expectClose(outputs, try reference.tensor("outputs").rows(0..<1), relativeToScale: VisionTolerance.deepNetwork, "outputs")
        print("full-width tf_efficientnet_b0: max error / scale, features \(featureError), outputs \(outputError)")
    }
}

@Suite("The detector-box crop EmotiEffLib reads")
struct BoxCropTests {
    @Test("Pillow's bilinear resize, bit for bit: enlarging, shrinking (antialiased), one axis unchanged, one pixel")
    func pillowResize() throws {
        let reference = EfficientNetFixtures.reference
        let region = try reference.rawBytes("resize.region")
        let image = RGBImage(width: 120, height: 120, pixels: Array(region))
        var index = 0
        while reference.entry("resize.\(index).rect") != nil {
            let raw = try reference.rawBytes("resize.\(index).rect")
            let r = (0..<6).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            let ours = ImageResampling.pillowBilinear(image, left: r[0], top: r[1], width: r[2], height: r[3], outWidth: r[4], outHeight: r[5])
            let pillow = Array(try reference.rawBytes("resize.\(index).pillow"))
            #expect(ours == pillow, "case \(index): \(r), \(zip(ours, pillow).filter { $0 != $1 }.count) values differ")
            index += 1
        }
        #expect(index == 5)
    }

    @Test("the box is cut on whole pixels as box.astype(int) then frame[y1:y2, x1:x2] cuts it, kept inside the image")
    func wholePixels() {
        // A 4×3 image whose pixel (x, y) holds R = 10x + y.
        var pixels: [UInt8] = []
        for y in 0..<3 { for x in 0..<4 { pixels += [UInt8(10 * x + y), 0, 0] } }
        let image = RGBImage(width: 4, height: 3, pixels: pixels)
        func cut(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, size: Int) -> [Float] {
            let face = FacePipeline.boxCrop(image, DetectedFace(x1: x1, y1: y1, x2: x2, y2: y2, score: 1, keypoints: []), size: size)
            return stride(from: 0, to: face.rgb.count, by: 3).map { face.rgb[$0] }
        }
        // x 1.9 → 1, x2 3.99 → 3 (column 3 left out), y 0.5 → 0, y2 2.7 → 2: columns 1–2, rows 0–1, unchanged at 2×2.
        #expect(cut(1.9, 0.5, 3.99, 2.7, size: 2) == [10, 20, 11, 21])
        // Outside the image: held to it, and never empty.
        #expect(cut(-3, -2, 0.2, 0.4, size: 1) == [0])
        #expect(cut(3.5, 2.5, 9, 9, size: 1) == [32])
    }
}
