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

@Suite("Silero VAD segmenter")
struct SileroSegmenterTests {
    static func utterances(_ audio: [Float], chunk: Int, parameters: SegmenterParameters = SegmenterParameters()) throws -> [Utterance] {
        var segmenter = SileroSegmenter(model: try SileroVAD(path: TestPaths.sileroVAD!), parameters: parameters)
        var events: [SegmenterEvent] = []
        for start in stride(from: 0, to: audio.count, by: chunk) { events += segmenter.process(Array(audio[start..<min(start + chunk, audio.count)])) }
        events += segmenter.finish()
        return events.compactMap { if case .utterance(let u) = $0 { u } else { nil } }
    }

    @Test("the aligned GRID sentence is one utterance, its speech within 100 ms of the word timing, whatever the chunk size",
          .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"))
    func gridSentence() throws {
        let audio = try SafeTensorsFile(path: SileroVADFixtures.path).tensor("grid.audio").scalars
        let reference = try Self.utterances(audio, chunk: 320)
        // swwp2s.align: speech from 0.49 s to 2.21 s.
        let utterance = try #require(reference.first)
        #expect(reference.count == 1, "\(reference.map { ($0.startSeconds, $0.endSeconds) })")
        #expect(abs(utterance.startSeconds - 0.49) <= 0.1, "start \(utterance.startSeconds)")
        #expect(abs(Double(utterance.speechEndSample) / 16000 - 2.21) <= 0.1, "speech end \(Double(utterance.speechEndSample) / 16000)")
        #expect(Array(audio[utterance.startSample..<utterance.endSample]) == utterance.audio)
        for chunk in [1, 160, 512, 1000, 16000] {
            #expect(try Self.utterances(audio, chunk: chunk) == reference, "chunks of \(chunk)")
        }
    }

    @Test("silence, steady hum and white noise are not speech to it", .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"))
    func noSpeech() throws {
        var random = SeededGenerator(seed: 5)
        let seconds = 16000 * 4
        let silence = [Float](repeating: 0, count: seconds)
        let hum = (0..<seconds).map { Float(0.3 * sin(2 * Double.pi * 100 * Double($0) / 16000)) }
        let hiss = (0..<seconds).map { _ in Float.random(in: -0.2...0.2, using: &random) }
        for (name, signal) in [("silence", silence), ("100 Hz hum", hum), ("white noise", hiss)] {
            #expect(try Self.utterances(signal, chunk: 320).isEmpty, "\(name)")
        }
    }

    @Test("the level gate keeps the nearest voice: a second talker 20 dB down no longer joins the subject's two sentences",
          .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"))
    func levelGate() throws {
        let fixture = try SafeTensorsFile(path: SileroVADFixtures.path)
        let grid = try fixture.tensor("grid.audio").scalars
        // The GRID sentence twice with 0.8 s between (speech 0.49–2.21 s of each), a
        // continuous other voice (EmoDB, looped) 20 dB below it throughout.
        let subject = grid + [Float](repeating: 0, count: 12800) + grid
        var other: [Float] = []
        let emodb = try fixture.tensor("emodb.audio").scalars
        while other.count < subject.count { other += emodb }
        func power(_ x: ArraySlice<Float>) -> Double { x.reduce(0) { $0 + Double($1 * $1) } / Double(x.count) }
        let gain = Float((power(grid[7840..<35360]) / power(other[...]) / 100).squareRoot())
        let mixed = zip(subject, other).map { $0 + gain * $1 }
        var ungated = SegmenterParameters()
        ungated.foregroundStartDecibels = .infinity
        ungated.foregroundContinueDecibels = .infinity
        let plain = try Self.utterances(mixed, chunk: 320, parameters: ungated)
        let gated = try Self.utterances(mixed, chunk: 320)
        let offset = Double(grid.count + 12800) / 16000
        let sentences = [(0.49, 2.21), (0.49 + offset, 2.21 + offset)]
        func spans(_ found: [Utterance]) -> [(Double, Double)] { found.map { ($0.startSeconds, $0.endSeconds) } }
        print("Two sentences under a voice 20 dB down: without the gate \(spans(plain)), with it \(spans(gated)); speech \(sentences)")
        func joined(_ found: [Utterance]) -> Bool { found.contains { $0.startSeconds < sentences[0].1 && $0.endSeconds > sentences[1].0 } }
        // Silero alone hears the other voice in the pause and joins the sentences.
        #expect(joined(plain))
        // Gated: no utterance runs through the pause, and each sentence's speech lies within one.
        #expect(!joined(gated))
        for (start, end) in sentences {
            #expect(gated.contains { $0.startSeconds <= start + 0.1 && $0.endSeconds >= end - 0.1 }, "\(start)–\(end) s: \(spans(gated))")
        }
    }
}
