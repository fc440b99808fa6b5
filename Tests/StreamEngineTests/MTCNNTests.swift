import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

@Suite("MTCNN against mtcnn 1.0.0's Keras nets")
struct MTCNNTests {
    static func nets(_ path: String) throws -> MTCNNNetworks { try MTCNNNetworks.load(path: path) }

    /// Runs the three nets on the fixture's inputs and compares with the references of `prefix`.
    static func compare(_ nets: MTCNNNetworks, prefix: String) throws {
        let r = VisionFixtures.reference
        let pyramid = try r.tensor("area.4.output")
        let planarInput = VisionFixtures.planar(pyramid.reshaped([1] + pyramid.shape)).reshaped([3, pyramid.shape[0], pyramid.shape[1]])
        let (offsets, probabilities) = nets.proposal(planarInput)
        let expectedOffsets = try r.tensor("\(prefix).pnet.offsets")  // [h, w, 4]
        expectClose(offsets, VisionFixtures.planar(expectedOffsets.reshaped([1] + expectedOffsets.shape)).reshaped(offsets.shape),
                    relativeToScale: VisionTolerance.network, "\(prefix) P-Net offsets")
        let expectedProbabilities = try r.tensor("\(prefix).pnet.probabilities")  // [h, w, 2]
        let faceProbability = Tensor(shape: [expectedProbabilities.shape[0], expectedProbabilities.shape[1]],
                                     scalars: stride(from: 1, to: expectedProbabilities.count, by: 2).map { expectedProbabilities.scalars[$0] })
        expectClose(probabilities, faceProbability, relativeToScale: VisionTolerance.network, "\(prefix) P-Net face probability")

        let refine = nets.refine(VisionFixtures.planar(try r.tensor("crop.24")))
        expectClose(refine[0], try r.tensor("\(prefix).rnet.offsets"), relativeToScale: VisionTolerance.network, "\(prefix) R-Net offsets")
        expectClose(refine[1], try r.tensor("\(prefix).rnet.probabilities"), relativeToScale: VisionTolerance.network, "\(prefix) R-Net scores")
        let output = nets.output(VisionFixtures.planar(try r.tensor("crop.48")))
        expectClose(output[0], try r.tensor("\(prefix).onet.offsets"), relativeToScale: VisionTolerance.network, "\(prefix) O-Net offsets")
        expectClose(output[1], try r.tensor("\(prefix).onet.points"), relativeToScale: VisionTolerance.network, "\(prefix) O-Net keypoints")
        expectClose(output[2], try r.tensor("\(prefix).onet.probabilities"), relativeToScale: VisionTolerance.network, "\(prefix) O-Net scores")
    }

    @Test("P-, R- and O-Net with random weights, converted by the tools/ converter's names")
    func randomWeights() throws {
        try Self.compare(try Self.nets(VisionFixtures.path("mtcnn_random.safetensors")), prefix: "random")
    }

    @Test("the pretrained nets give mtcnn's outputs", .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
    func pretrainedNets() throws {
        try Self.compare(try Self.nets(VisionFixtures.modelsDirectory! + "/mtcnn/model.safetensors"), prefix: "real")
    }

    @Test("the whole detector finds mtcnn's faces, boxes and keypoints on GRID frames",
          .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
    func pretrainedDetector() throws {
        let detector = try MTCNN(path: VisionFixtures.modelsDirectory! + "/mtcnn/model.safetensors")
        for index in 0..<3 {
            let expected = try VisionFixtures.pretrained.tensor("detections.\(index)").scalars  // [faces, 16]
            let faces = detector.detect(VisionFixtures.frame(index))
            #expect(faces.count == expected.count / 16, "frame \(index)")
            for (i, face) in faces.enumerated() where i < expected.count / 16 {
                let row = Array(expected[(16 * i)..<(16 * i + 16)]).map(Double.init)
                let ours = [face.x1, face.y1, face.x2, face.y2] + face.keypoints.map(\.x) + face.keypoints.map(\.y)
                let theirs = Array(row[1...4]) + Array(row[6...15])
                // Pixels: float32 nets feed float64 box arithmetic; 1e-3 px is far below a pixel.
                #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) < 1e-3 }, "frame \(index): \(ours) vs \(theirs)")
                #expect(abs(face.score - row[5]) < 1e-5)
            }
        }
    }

    @Test("crops read from the 8-bit frame equal crops of the normalised frame")
    func cropSources() throws {
        let image = VisionFixtures.frame(1)
        let boxes = [MTCNN.Candidate(x1: 100.3, y1: 95.7, x2: 210.2, y2: 250.9, score: 1), MTCNN.Candidate(x1: -20, y1: 200, x2: 80, y2: 300, score: 1)]
        for side in [24, 48] {
            let a = MTCNN.patches(.pixels(image), boxes, side: side), b = MTCNN.patches(.normalized(MTCNN.normalize(image)), boxes, side: side)
            #expect(a.maxAbsoluteDifference(b) == 0)
        }
    }

    @Test("an image without a face: no detection, no crash; tiny images too")
    func noFace() throws {
        let detector = try MTCNN(path: VisionFixtures.path("mtcnn_random.safetensors"))
        let flat = RGBImage(width: 64, height: 48, pixels: [UInt8](repeating: 128, count: 64 * 48 * 3))
        _ = detector.detect(flat)
        #expect(detector.detect(RGBImage(width: 5, height: 5, pixels: [UInt8](repeating: 0, count: 75))).isEmpty)
    }

    @Test("suppression drops a box that any earlier box overlaps, as mtcnn's all-pairs rule")
    func suppression() {
        typealias C = MTCNN.Candidate
        let boxes = [C(x1: 0, y1: 0, x2: 10, y2: 10, score: 0.9), C(x1: 1, y1: 0, x2: 11, y2: 10, score: 0.8),
                     C(x1: 8, y1: 0, x2: 18, y2: 10, score: 0.7), C(x1: 50, y1: 50, x2: 60, y2: 60, score: 0.6)]
        // Box 2 overlaps box 1 (dropped itself) by 3/17 only, box 0 by 2/18: kept at 0.5.
        #expect(MTCNN.suppress(boxes, threshold: 0.5, method: .union).map(\.score) == [0.9, 0.7, 0.6])
        // At 0.15, box 1 still suppresses box 2 although box 1 was dropped: mtcnn's rule, not greedy NMS.
        #expect(MTCNN.suppress(boxes, threshold: 0.15, method: .union).map(\.score) == [0.9, 0.6])
        #expect(MTCNN.suppress([boxes[0], C(x1: 2, y1: 2, x2: 6, y2: 6, score: 0.5)], threshold: 0.7, method: .minimum).count == 1)
    }

    @Test("the pyramid follows mtcnn's build_scale_pyramid")
    func pyramid() throws {
        let detector = try MTCNN(path: VisionFixtures.path("mtcnn_random.safetensors"))
        let scales = detector.scales(width: 360, height: 288)
        #expect(scales.count == 8)
        #expect(abs(scales[0] - 0.6) < 1e-12 && abs(scales[7] - 0.6 * pow(0.709, 7)) < 1e-12)
    }
}

@Suite("Vision model loading is strict")
struct VisionLoadingTests {
    /// A copy of a fixture with `edit` applied to its tensors, in a temporary file.
    static func edited(_ fixture: String, _ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let file = try SafeTensorsFile(path: VisionFixtures.path(fixture))
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        edit(&tensors)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merd-vision-\(UUID().uuidString).safetensors").path
        try SafeTensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, to: path)
        return path
    }

    @Test("missing file, missing tensor, wrong shape, unknown tensor: typed errors naming them")
    func strict() throws {
        #expect(throws: VisionModelError.missingFile(path: "/nonexistent/model.safetensors", model: "MTCNN")) {
            try MTCNN(path: "/nonexistent/model.safetensors")
        }
        let missing = try Self.edited("mtcnn_random.safetensors") { $0["onet.fc6-3.bias"] = nil }
        defer { try? FileManager.default.removeItem(atPath: missing) }
        #expect(throws: VisionModelError.weights(.missingTensor(file: missing, tensor: "onet.fc6-3.bias"))) { try MTCNN(path: missing) }

        let reshaped = try Self.edited("mtcnn_random.safetensors") { $0["rnet.fc4.kernel"] = Tensor(shape: [128, 576]) }
        defer { try? FileManager.default.removeItem(atPath: reshaped) }
        #expect(throws: VisionModelError.weights(.shapeMismatch(file: reshaped, tensor: "rnet.fc4.kernel", expected: [576, 128], found: [128, 576]))) {
            try MTCNN(path: reshaped)
        }
        let extra = try Self.edited("mini_xception_random.safetensors") { $0["dense_1.kernel"] = Tensor(shape: [2, 2]) }
        defer { try? FileManager.default.removeItem(atPath: extra) }
        #expect(throws: VisionModelError.unknownTensors(file: extra, names: ["dense_1.kernel"])) { try MiniXception(path: extra) }

        let narrowed = try Self.edited("resnet50_narrow_random.safetensors") { $0["conv3_2_1x1_reduce.weight"] = Tensor(shape: [16, 60, 1, 1]) }
        defer { try? FileManager.default.removeItem(atPath: narrowed) }
        #expect(throws: VisionModelError.inconsistent(file: narrowed, reason: "conv3_2_1x1_reduce.weight is [16, 60, 1, 1], expected [out, 64, k, k]")) {
            try ResNet50FER(path: narrowed)
        }
        let error = VisionModelError.missingFile(path: "/m/mtcnn/model.safetensors", model: "MTCNN")
        #expect(error.description.contains("tools/fetch-default-models"))
    }
}
