import Foundation
import NeuralKit
import StreamEngine
import TestSupport
import Testing

/// A copy of a fixture model directory, to damage.
final class ModelCopy {
    let path: String

    convenience init(_ family: String) throws {
        try self.init(copying: HuBERTFixtures.path(family))
    }

    /// A copy of the model directory at `source`.
    init(copying source: String) throws {
        path = NSTemporaryDirectory() + "merd-model-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: source, toPath: path)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var weightsPath: String { path + "/model.safetensors" }
    var configPath: String { path + "/config.json" }

    /// Rewrites the weights with `change` applied to the (name, tensor) list.
    func rewriteWeights(_ change: (inout [(name: String, tensor: Tensor)]) -> Void) throws {
        let file = try SafeTensorsFile(path: weightsPath)
        var tensors = try file.names.map { (name: $0, tensor: try file.tensor($0)) }
        change(&tensors)
        try SafeTensorsWriter.write(tensors, to: weightsPath)
    }

    func rewriteConfig(_ change: (inout [String: Any]) -> Void) throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        change(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: configPath))
    }
}

@Suite("HuBERT loading is strict and says what is wrong")
struct HuBERTLoadingTests {
    @Test("the tensor names and shapes of the published checkpoints are the ones read")
    func expectedNames() throws {
        // The contract with HuggingFace's checkpoints, checked on the fixture of each family.
        let large = try SafeTensorsFile(path: HuBERTFixtures.path("large") + "/model.safetensors")
        for name in ["feature_extractor.conv_layers.0.conv.weight", "feature_extractor.conv_layers.6.layer_norm.bias",
                     "feature_projection.layer_norm.weight", "feature_projection.projection.weight",
                     "encoder.pos_conv_embed.conv.weight_g", "encoder.pos_conv_embed.conv.weight_v",
                     "encoder.layers.4.attention.q_proj.weight", "encoder.layers.4.feed_forward.output_dense.weight",
                     "encoder.layers.4.final_layer_norm.weight", "encoder.layer_norm.weight", "masked_spec_embed"] {
            #expect(large.entry(name) != nil, "\(name)")
        }
        #expect(large.entry("encoder.layers.0.feed_forward.intermediate_dense.weight")?.shape == [72, 32])
        let base = try SafeTensorsFile(path: HuBERTFixtures.path("base") + "/model.safetensors")
        #expect(base.entry("encoder.pos_conv_embed.conv.parametrizations.weight.original1")?.shape == [32, 8, 16])
        #expect(base.entry("feature_extractor.conv_layers.1.layer_norm.weight") == nil)
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let copy = try ModelCopy("large")
        try copy.rewriteWeights { $0.removeAll { $0.name == "encoder.layers.2.attention.k_proj.weight" } }
        #expect(throws: HuBERTError.weights(.missingTensor(file: copy.weightsPath, tensor: "encoder.layers.2.attention.k_proj.weight"))) {
            try HuBERT(directory: copy.path)
        }
    }

    @Test("a wrong shape is named with expected and found")
    func wrongShape() throws {
        let copy = try ModelCopy("base")
        try copy.rewriteWeights { tensors in
            let i = tensors.firstIndex { $0.name == "encoder.layers.1.feed_forward.output_dense.bias" }!
            tensors[i].tensor = Tensor(shape: [31])
        }
        #expect(throws: HuBERTError.weights(.shapeMismatch(file: copy.weightsPath, tensor: "encoder.layers.1.feed_forward.output_dense.bias",
                                                           expected: [32], found: [31]))) {
            try HuBERT(directory: copy.path)
        }
    }

    @Test("an unknown tensor is refused (weights of another model)")
    func unknownTensor() throws {
        let copy = try ModelCopy("large")
        try copy.rewriteWeights { $0.append((name: "encoder.layers.9.attention.q_proj.weight", tensor: Tensor(shape: [32, 32]))) }
        #expect(throws: HuBERTError.unknownTensors(file: copy.weightsPath, names: ["encoder.layers.9.attention.q_proj.weight"])) {
            try HuBERT(directory: copy.path)
        }
    }

    @Test("a task model's prefix is read through and its head skipped")
    func prefixedCheckpoint() throws {
        let copy = try ModelCopy("large")
        try copy.rewriteWeights { tensors in
            tensors = tensors.map { (name: "hubert." + $0.name, tensor: $0.tensor) }
            tensors.append((name: "lm_head.weight", tensor: Tensor(shape: [32, 32])))
        }
        let model = try HuBERT(directory: copy.path)
        let reference = try HuBERTFixtures.reference("large")
        let states = try model.hiddenStates(audio: try reference.tensor("audio").scalars, layers: [3])
        expectParity(states[3]!, try reference.tensor("hidden_states.3"), "prefixed large layer 3")
    }

    @Test("a directory with pytorch_model.bin only (as chinese-hubert-large is published) gives the same hidden states")
    func pytorchCheckpoint() throws {
        let copy = try ModelCopy("large")
        try FileManager.default.removeItem(atPath: copy.weightsPath)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("torch/hubert-large/pytorch_model.bin"),
                                         toPath: copy.path + "/pytorch_model.bin")
        let fromTorch = try HuBERT(directory: copy.path)
        let fromSafeTensors = try HuBERT(directory: HuBERTFixtures.path("large"))
        let reference = try HuBERTFixtures.reference("large")
        let audio = try reference.tensor("audio").scalars
        let layers = Array(0...fromTorch.hiddenLayers)
        let torchStates = try fromTorch.hiddenStates(audio: audio, layers: layers)
        let safeStates = try fromSafeTensors.hiddenStates(audio: audio, layers: layers)
        for k in layers {
            // The same weights through the same code: equal to the bit, and to transformers within tolerance.
            #expect(torchStates[k]!.maxAbsoluteDifference(safeStates[k]!) == 0, "layer \(k)")
            expectParity(torchStates[k]!, try reference.tensor("hidden_states.\(k)"), "pytorch_model.bin layer \(k)")
        }
    }

    @Test("missing files and bad configs give one clear error each")
    func badDirectories() throws {
        #expect(throws: HuBERTError.missingFile(path: "/nonexistent/config.json")) { try HuBERT(directory: "/nonexistent") }

        let noWeights = try ModelCopy("large")
        try FileManager.default.removeItem(atPath: noWeights.weightsPath)
        #expect(throws: HuBERTError.missingFile(path: noWeights.weightsPath)) { try HuBERT(directory: noWeights.path) }

        let badJSON = try ModelCopy("large")
        try Data("{\"model_type\": ".utf8).write(to: URL(fileURLWithPath: badJSON.configPath))
        #expect(throws: HuBERTError.invalidConfiguration(file: badJSON.configPath, reason: "not valid JSON")) { try HuBERT(directory: badJSON.path) }

        let missingKey = try ModelCopy("large")
        try missingKey.rewriteConfig { $0.removeValue(forKey: "hidden_size") }
        #expect(throws: HuBERTError.invalidConfiguration(file: missingKey.configPath, reason: "missing key 'hidden_size'")) {
            try HuBERT(directory: missingKey.path)
        }

        let relu = try ModelCopy("base")
        try relu.rewriteConfig { $0["hidden_act"] = "relu" }
        #expect(throws: HuBERTError.unsupportedConfiguration(file: relu.configPath, key: "hidden_act", found: "relu", need: "gelu")) {
            try HuBERT(directory: relu.path)
        }

        let heads = try ModelCopy("base")
        try heads.rewriteConfig { $0["num_attention_heads"] = 5 }
        #expect(throws: HuBERTError.self) { try HuBERT(directory: heads.path) }

        #expect(throws: HuBERTError.layerOutOfRange(layer: 9, layers: 5)) { try HuBERT(directory: HuBERTFixtures.path("large"), highestLayer: 9) }
    }

    @Test("audio shorter than one frame is refused, not crashed on")
    func shortAudio() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        #expect(throws: HuBERTError.audioTooShort(samples: 399, needed: 400)) {
            try model.hiddenStates(audio: [Float](repeating: 0.1, count: 399), layers: [1])
        }
        #expect(try model.hiddenStates(audio: [Float](repeating: 0.1, count: 400), layers: [1])[1]!.shape == [1, 32])
    }
}
