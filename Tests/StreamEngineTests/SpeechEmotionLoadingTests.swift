import Foundation
import NeuralKit
import StreamEngine
import TestSupport
import Testing

@Suite("Speech emotion model loading is strict and says what is wrong")
struct SpeechEmotionLoadingTests {
    @Test("the tensor names and shapes of the published checkpoint are the ones read")
    func expectedNames() throws {
        // The contract with audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim's model.safetensors,
        // checked on the fixture written under the same names.
        let file = try SafeTensorsFile(path: SpeechEmotionFixtures.path + "/model.safetensors")
        let expected: [String: [Int]] = [
            "classifier.dense.weight": [32, 32], "classifier.dense.bias": [32],
            "classifier.out_proj.weight": [3, 32], "classifier.out_proj.bias": [3],
            "wav2vec2.feature_extractor.conv_layers.0.conv.weight": [16, 1, 10],
            "wav2vec2.feature_extractor.conv_layers.6.layer_norm.bias": [16],
            "wav2vec2.feature_projection.layer_norm.weight": [16], "wav2vec2.feature_projection.projection.weight": [32, 16],
            "wav2vec2.encoder.pos_conv_embed.conv.weight_g": [1, 1, 16], "wav2vec2.encoder.pos_conv_embed.conv.weight_v": [32, 8, 16],
            "wav2vec2.encoder.layers.2.attention.q_proj.weight": [32, 32],
            "wav2vec2.encoder.layers.2.feed_forward.intermediate_dense.weight": [72, 32],
            "wav2vec2.encoder.layers.2.final_layer_norm.weight": [32], "wav2vec2.encoder.layer_norm.weight": [32],
            "wav2vec2.masked_spec_embed": [32],
        ]
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(file.entry(name)?.shape == shape, "\(name)")
        }
        #expect(Set(file.names.filter { !$0.hasPrefix("wav2vec2.") })
                == ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"])
        let model = try SpeechEmotionModel(directory: SpeechEmotionFixtures.path)
        #expect(model.outputOrder == .init(arousal: 0, dominance: 1, valence: 2))
        #expect(model.encoder.preprocessing.normalize)
        #expect(model.encoder.highestLoadedLayer == 3 && model.minimumSamples == 400)
    }

    @Test("a missing head tensor is named")
    func missingHeadTensor() throws {
        let copy = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try copy.rewriteWeights { $0.removeAll { $0.name == "classifier.out_proj.bias" } }
        #expect(throws: SpeechEmotionError.weights(.missingTensor(file: copy.weightsPath, tensor: "classifier.out_proj.bias"))) {
            try SpeechEmotionModel(directory: copy.path)
        }
        let error = try #require(throws: SpeechEmotionError.self) { try SpeechEmotionModel(directory: copy.path) }
        #expect(error.description.contains("classifier.out_proj.bias"), "\(error)")
    }

    @Test("a head of the wrong shape is named with expected and found")
    func wrongHeadShape() throws {
        let copy = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try copy.rewriteWeights { tensors in
            let i = tensors.firstIndex { $0.name == "classifier.out_proj.weight" }!
            tensors[i].tensor = Tensor(shape: [4, 32])
        }
        #expect(throws: SpeechEmotionError.weights(.shapeMismatch(file: copy.weightsPath, tensor: "classifier.out_proj.weight",
                                                                  expected: [3, 32], found: [4, 32]))) {
            try SpeechEmotionModel(directory: copy.path)
        }
    }

    @Test("tensors of another head are refused, not skipped")
    func unknownTensors() throws {
        let copy = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try copy.rewriteWeights { tensors in
            tensors.append((name: "projector.weight", tensor: Tensor(shape: [8, 32])))
            tensors.append((name: "classifier.weight", tensor: Tensor(shape: [3, 8])))
        }
        #expect(throws: SpeechEmotionError.unknownTensors(file: copy.weightsPath, names: ["classifier.weight", "projector.weight"])) {
            try SpeechEmotionModel(directory: copy.path)
        }
    }

    @Test("a missing encoder tensor is named by the encoder's loader")
    func missingEncoderTensor() throws {
        let copy = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try copy.rewriteWeights { $0.removeAll { $0.name == "wav2vec2.encoder.layer_norm.bias" } }
        #expect(throws: SpeechEmotionError.weights(.missingTensor(file: copy.weightsPath, tensor: "wav2vec2.encoder.layer_norm.bias"))) {
            try SpeechEmotionModel(directory: copy.path)
        }
    }

    @Test("labels other than arousal, dominance and valence are refused; their order is read from id2label")
    func labels() throws {
        let categorical = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try categorical.rewriteConfig { $0["id2label"] = ["0": "angry", "1": "happy", "2": "sad"] }
        #expect(throws: SpeechEmotionError.unsupportedConfiguration(
            file: categorical.configPath, key: "id2label", found: "{0: angry, 1: happy, 2: sad}",
            need: "the three outputs arousal, dominance, valence numbered from 0")) {
            try SpeechEmotionModel(directory: categorical.path)
        }

        let pooling = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try pooling.rewriteConfig { $0["pooling_mode"] = "max" }
        #expect(throws: SpeechEmotionError.unsupportedConfiguration(file: pooling.configPath, key: "pooling_mode", found: "max", need: "mean")) {
            try SpeechEmotionModel(directory: pooling.path)
        }

        let permuted = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try permuted.rewriteConfig { $0["id2label"] = ["0": "valence", "1": "arousal", "2": "dominance"] }
        let model = try SpeechEmotionModel(directory: permuted.path)
        #expect(model.outputOrder == .init(arousal: 1, dominance: 2, valence: 0))
        let audio = try SpeechEmotionFixtures.reference().tensor("audio").scalars
        let outputs = model.outputs(pooled: try model.pooledState(audio)).scalars
        #expect(try model.estimate(audio) == SpeechAffect(arousal: outputs[1], dominance: outputs[2], valence: outputs[0]))
    }

    @Test("without preprocessor_config.json the input is normalised, as Wav2Vec2FeatureExtractor's default")
    func defaultPreprocessing() throws {
        let copy = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try FileManager.default.removeItem(atPath: copy.path + "/preprocessor_config.json")
        let model = try SpeechEmotionModel(directory: copy.path)
        #expect(model.encoder.preprocessing.normalize)
        let reference = try SpeechEmotionFixtures.reference()
        expectParity(model.outputs(pooled: try model.pooledState(try reference.tensor("audio").scalars)), try reference.tensor("logits"),
                     "logits without preprocessor_config.json")
    }

    @Test("missing files, bad configs and short audio give one clear error each")
    func badInputs() throws {
        #expect(throws: SpeechEmotionError.missingFile(path: "/nonexistent/config.json")) { try SpeechEmotionModel(directory: "/nonexistent") }

        let noWeights = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try FileManager.default.removeItem(atPath: noWeights.weightsPath)
        #expect(throws: SpeechEmotionError.missingFile(path: noWeights.weightsPath)) { try SpeechEmotionModel(directory: noWeights.path) }

        let noLabels = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try noLabels.rewriteConfig { $0.removeValue(forKey: "id2label") }
        #expect(throws: SpeechEmotionError.invalidConfiguration(file: noLabels.configPath, reason: "missing key 'id2label'")) {
            try SpeechEmotionModel(directory: noLabels.path)
        }

        let relu = try ModelCopy(copying: SpeechEmotionFixtures.path)
        try relu.rewriteConfig { $0["hidden_act"] = "relu" }
        #expect(throws: SpeechEmotionError.unsupportedConfiguration(file: relu.configPath, key: "hidden_act", found: "relu", need: "gelu")) {
            try SpeechEmotionModel(directory: relu.path)
        }

        let model = try SpeechEmotionModel(directory: SpeechEmotionFixtures.path)
        #expect(throws: SpeechEmotionError.audioTooShort(samples: 399, needed: 400)) { try model.estimate([Float](repeating: 0.1, count: 399)) }
        #expect(try model.estimate([Float](repeating: 0, count: 400)).valence.isFinite)
    }
}

@Suite("Speech affect on merd's scale")
struct SpeechAffectTests {
    @Test("(x − 0.5) × 10, clamped to [-5, 5]; NaN stays NaN")
    func merdScale() {
        let cases: [(Float, Float)] = [(0.5, 0), (1, 5), (0, -5), (0.62, 1.2), (0.4, -1), (1.3, 5), (-0.2, -5), (.infinity, 5)]
        for (model, merd) in cases {
            #expect(abs(SpeechAffect.merdScale(model) - merd) <= 1e-6, "\(model) → \(SpeechAffect.merdScale(model)), expected \(merd)")
        }
        #expect(SpeechAffect.merdScale(.nan).isNaN)
        let affect = SpeechAffect(arousal: 0.75, dominance: 0.5, valence: 0.25)
        #expect(affect.valenceOnMerdScale == -2.5 && affect.arousalOnMerdScale == 2.5)
    }
}
