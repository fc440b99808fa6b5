import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The committed fixture of `tools/make_silero_vad_fixtures.py`: real speech (16 kHz) and the
/// speech probability per 512-sample chunk from the package's reference code for
/// `silero_vad_16k.safetensors`.
enum SileroVADFixtures {
    static let path = TestPaths.fixture("silero-vad/reference.safetensors")
    static let inputs = ["grid", "emodb", "babble"]
}

@Suite("Silero VAD")
struct SileroVADTests {
    /// The bar: per-chunk probabilities within 1e-4 of the reference.
    static let tolerance: Float = 1e-4

    @Test("per-chunk speech probabilities within 1e-4 of the reference on real speech",
          .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"), arguments: SileroVADFixtures.inputs)
    func parity(input: String) throws {
        let model = try SileroVAD(path: TestPaths.sileroVAD!)
        let reference = try SafeTensorsFile(path: SileroVADFixtures.path)
        let audio = try reference.tensor(input + ".audio").scalars
        let expected = try reference.tensor(input + ".probabilities").scalars
        #expect(audio.count == expected.count * SileroVAD.chunkSamples)
        var state = SileroVAD.State()
        var worst: Float = 0
        var speech = 0
        for (index, start) in stride(from: 0, to: audio.count, by: SileroVAD.chunkSamples).enumerated() {
            let probability = model.probability(of: audio[start..<(start + SileroVAD.chunkSamples)], state: &state)
            worst = max(worst, abs(probability - expected[index]))
            if expected[index] > 0.5 { speech += 1 }
        }
        print("Silero VAD parity \(input): \(expected.count) chunks (\(speech) speech by the reference), max |error| \(worst)")
        #expect(worst <= Self.tolerance, "max |error| \(worst)")
        // Real speech with pauses: both classes are there, so the comparison says something.
        #expect(speech > 10 && speech < expected.count)
    }

    @Test("a state starts from zeros and streams are independent", .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"))
    func freshStates() throws {
        let model = try SileroVAD(path: TestPaths.sileroVAD!)
        let audio = try SafeTensorsFile(path: SileroVADFixtures.path).tensor("grid.audio").scalars
        var first = SileroVAD.State(), second = SileroVAD.State()
        let chunk = audio[(20 * 512)..<(21 * 512)]
        let a = model.probability(of: chunk, state: &first)
        let b = model.probability(of: chunk, state: &second)
        #expect(a == b)
        // The state carries over: the same chunk again gives another answer.
        #expect(model.probability(of: chunk, state: &first) != a)
    }

    /// `silero_vad_16k.safetensors`'s tensors.
    static let publishedShapes: [String: [Int]] = [
        "stft_conv.weight": [258, 1, 256],
        "conv1.weight": [128, 129, 3], "conv1.bias": [128], "conv2.weight": [64, 128, 3], "conv2.bias": [64],
        "conv3.weight": [64, 64, 3], "conv3.bias": [64], "conv4.weight": [128, 64, 3], "conv4.bias": [128],
        "lstm_cell.weight_ih": [512, 128], "lstm_cell.weight_hh": [512, 128], "lstm_cell.bias_ih": [512], "lstm_cell.bias_hh": [512],
        "final_conv.weight": [1, 128, 1], "final_conv.bias": [1],
    ]

    @Test("a missing, foreign or damaged file is refused with what is wrong")
    func badFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("silero-bad-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: SileroVADError.missingFile(path: folder + "/none.safetensors")) { try SileroVAD(path: folder + "/none.safetensors") }
        // Another model's file: its first missing tensor is named.
        let foreign = folder + "/foreign.safetensors"
        try SafeTensorsWriter.write([("conv1.weight", Tensor(shape: [2, 2, 3], repeating: 0.1))], to: foreign)
        let error = try #require(throws: SileroVADError.self) { try SileroVAD(path: foreign) }
        #expect(error.description.contains("stft_conv.weight"), "\(error)")
        // The right layout with a NaN in it.
        var tensors = Self.publishedShapes.mapValues { Tensor(shape: $0, repeating: 0.01) }
        var poisoned = tensors["lstm_cell.weight_hh"]!.scalars
        poisoned[7] = .nan
        tensors["lstm_cell.weight_hh"] = Tensor(shape: [512, 128], scalars: poisoned)
        let nan = folder + "/nan.safetensors"
        try SafeTensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: nan)
        let nanError = try #require(throws: SileroVADError.self) { try SileroVAD(path: nan) }
        #expect(nanError.description.contains("lstm_cell.weight_hh"), "\(nanError)")
        // An extra tensor: not this model.
        tensors["lstm_cell.weight_hh"] = Tensor(shape: [512, 128], repeating: 0.01)
        tensors["_model_8k.stft"] = Tensor(shape: [1], repeating: 0)
        let extra = folder + "/extra.safetensors"
        try SafeTensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: extra)
        let extraError = try #require(throws: SileroVADError.self) { try SileroVAD(path: extra) }
        #expect(extraError.description.contains("_model_8k.stft"), "\(extraError)")
        // Truncated: the header promises more bytes than the file has.
        let truncated = folder + "/truncated.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: extra))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: SileroVADError.self) { try SileroVAD(path: truncated) }
        // And the well-formed file loads and answers within [0, 1].
        tensors["_model_8k.stft"] = nil
        let good = folder + "/good.safetensors"
        try SafeTensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: good)
        var state = SileroVAD.State()
        let probability = try SileroVAD(path: good).probability(of: ArraySlice(repeating: 0.1, count: 512), state: &state)
        #expect(probability > 0 && probability < 1)
    }
}
