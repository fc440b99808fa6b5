import MediaCodec
import CaptureFile
import Foundation
import NeuralKit
import StreamEngine
import TestSupport
import Testing

/// Real speech for the windowing tests: EmoDB utterances from ../shared/data, decoded by
/// FFmpeg and resampled to 16 kHz, one after another.
enum Speech {
    static let shared = URL(fileURLWithPath: TestPaths.sharedData("emodb/wav"))

    static func utterances(_ count: Int) throws -> [Float] {
        let files = try FileManager.default.contentsOfDirectory(atPath: shared.path).filter { $0.hasSuffix(".wav") }.sorted()
        var audio: [Float] = []
        for file in files.prefix(count) {
            let reader = try AudioFileReader(path: shared.appendingPathComponent(file).path)
            let resampler = try Resampler(inputRate: reader.sampleRate, inputChannels: reader.channels)
            audio += resampler.process(try reader.readAll()) + resampler.flush()
        }
        return audio
    }
}

func cosine(_ a: Tensor, _ b: Tensor) -> Double {
    let (x, y) = (a.scalars.map(Double.init), b.scalars.map(Double.init))
    let dot = zip(x, y).map(*).reduce(0, +)
    return dot / (x.map { $0 * $0 }.reduce(0, +).squareRoot() * y.map { $0 * $0 }.reduce(0, +).squareRoot())
}

@Suite("HuBERT features while speech goes on")
struct HuBERTWindowingTests {
    static let layers = [1, 3, 5]

    /// Feeds `audio` in 20 ms chunks, as capture would.
    static func windowed(_ model: HuBERT, _ audio: [Float], _ windowing: HuBERTWindowing) throws -> (features: [Int: Tensor], windows: Int) {
        var encoder = try HuBERTUtteranceEncoder(model: model, layers: layers, windowing: windowing)
        for start in stride(from: 0, to: audio.count, by: 320) { try encoder.push(Array(audio[start..<min(start + 320, audio.count)])) }
        let features = try encoder.finish()
        return (features, encoder.windowsRun)
    }

    @Test("an utterance within one window gives the whole-utterance features", arguments: ["base", "large"])
    func shortIsExact(family: String) throws {
        let model = try HuBERT(directory: HuBERTFixtures.path(family))
        let audio = Array(try Speech.utterances(1).prefix(16000))  // 1 s: within the window and the normalisation span
        let (features, windows) = try Self.windowed(model, audio, HuBERTWindowing(windowSeconds: 2, overlapSeconds: 0.5, normalizationSeconds: 1))
        #expect(windows == 1)
        let whole = try model.pooledHiddenStates(audio: audio, layers: Self.layers)
        for layer in Self.layers {
            #expect(features[layer]!.maxAbsoluteDifference(whole[layer]!) <= 1e-6 * (whole[layer]!.scalars.map(abs).max() ?? 1),
                    "layer \(layer)")
        }
    }

    @Test("longer utterances: windows run while speaking, features stay close to the whole-utterance ones")
    func drift() throws {
        let audio = try Speech.utterances(5)  // five 2 s utterances: 10 s
        for family in ["base", "large"] {
            let model = try HuBERT(directory: HuBERTFixtures.path(family))
            let whole = try model.pooledHiddenStates(audio: audio, layers: Self.layers)
            for (window, overlap) in [(1.0, 0.25), (2.0, 0.5), (4.0, 1.0), (6.0, 1.0)] {
                let (features, windows) = try Self.windowed(model, audio, HuBERTWindowing(windowSeconds: window, overlapSeconds: overlap))
                let similarities = Self.layers.map { cosine(features[$0]!, whole[$0]!) }
                print("HuBERT windowing \(family): \(window) s windows, \(overlap) s overlap, 10 s of speech: \(windows) runs, "
                      + "cosine to whole-utterance features per layer \(Self.layers): \(similarities.map { String(format: "%.5f", $0) })")
                #expect(windows >= Int((10 - window) / (window - overlap)) + 1)
                #expect(similarities.allSatisfy { $0 > 0.999 }, "\(family) \(window)/\(overlap): \(similarities)")
            }
        }
    }
}
