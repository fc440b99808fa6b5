import Foundation
import NeuralKit
@testable import StreamEngine
import Testing

@Suite("MA-Net against its PyTorch reference")
struct MANetTests {
    static let reference: SafeTensorsFile = try! SafeTensorsFile(path: VisionFixtures.path("manet_reference.safetensors"))

    /// merd's aligned 224 px crops of GRID faces, as ToTensor makes them: [N, 3, 224, 224] in [0, 1].
    static func crops() throws -> Tensor {
        let raw = try reference.rawBytes("manet.crops")
        let n = raw.count / (224 * 224 * 3)
        return VisionFixtures.planar(Tensor(shape: [n, 224, 224, 3], scalars: raw.map { Float($0) / 255 }))
    }

    @Test("1/8-width MA-Net, random weights and batch-norm statistics, converted from a module.-prefixed state_dict: embedding and scores equal PyTorch's")
    func parity() throws {
        let model = try MANet(path: VisionFixtures.path("manet_narrow_random.safetensors"))
        let (embedding, scores) = model.forward(try Self.crops())
        expectClose(embedding, try Self.reference.tensor("manet.embedding"), relativeToScale: VisionTolerance.deepNetwork, "embedding")
        expectClose(scores, try Self.reference.tensor("manet.scores"), relativeToScale: VisionTolerance.deepNetwork, "scores")
        #expect(embedding.shape == [2, 128])
    }

    @Test("encode takes an RGB crop 0…255 to ToTensor's [0, 1] and gives softmax scores over RAF-DB's seven classes")
    func encode() throws {
        let model = try MANet(path: VisionFixtures.path("manet_narrow_random.safetensors"))
        let crops = try Self.crops()
        let first = crops.rows(0..<1).contiguous().scalars
        let plane = 224 * 224
        let rgb = (0..<plane).flatMap { i in (0..<3).map { c in first[c * plane + i] * 255 } }
        let encoded = model.encode(AlignedFace(size: 224, rgb: rgb))
        let (embedding, scores) = model.forward(crops.rows(0..<1))
        #expect(encoded.probabilities.count == 7 && abs(encoded.probabilities.reduce(0, +) - 1) < 1e-5)
        let direct = scores.softmax().scalars
        #expect(zip(encoded.probabilities, direct).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(encoded.embedding, embedding.scalars).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    @Test("a checkpoint with a block missing its shortcut, or a stray tensor, is refused with the name")
    func strict() throws {
        let missing = try VisionLoadingTests.edited("manet_narrow_random.safetensors") { tensors in
            for name in tensors.keys where name.hasPrefix("layer2.0.downsample.") { tensors[name] = nil }
        }
        defer { try? FileManager.default.removeItem(atPath: missing) }
        #expect(throws: VisionModelError.inconsistent(file: missing, reason: "layer2.0 changes shape but has no downsample")) {
            try MANet(path: missing)
        }
        let stray = try VisionLoadingTests.edited("manet_narrow_random.safetensors") { $0["fc_3.weight"] = Tensor(shape: [7, 64]) }
        defer { try? FileManager.default.removeItem(atPath: stray) }
        #expect(throws: VisionModelError.unknownTensors(file: stray, names: ["fc_3.weight"])) { try MANet(path: stray) }
    }
}
