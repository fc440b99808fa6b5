import CaptureFile
import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The committed fixture of `tools/make_speech_emotion_fixtures.py`: a tiny random model of
/// audEERING's form and the card's `EmotionModel` outputs for two real recordings.
enum SpeechEmotionFixtures {
    static let path = TestPaths.fixture("speech-emotion/tiny")

    static func reference() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: path + "/reference.safetensors")
    }

    /// Reference prefix → the recording it was decoded from.
    static let inputs = ["": "emodb/wav/03a01Wa.wav", "grid.": "grid/id2_vcd_swwp2s.mpg"]
}

@Suite("Speech emotion model parity with transformers")
struct SpeechEmotionParityTests {
    @Test("input values, last hidden state, pooled state and the three outputs", arguments: ["", "grid."])
    func parity(prefix: String) throws {
        let model = try SpeechEmotionModel(directory: SpeechEmotionFixtures.path)
        let reference = try SpeechEmotionFixtures.reference()
        let audio = try reference.tensor(prefix + "audio").scalars
        if prefix.isEmpty {
            let values = model.encoder.inputValues(audio)
            expectParity(Tensor(shape: [values.count], scalars: values), try reference.tensor("input_values"), "input_values")
        }
        let last = try model.encoder.lastHiddenState(audio: audio)
        let lastError = expectParity(last, try reference.tensor(prefix + "last_hidden_state"), "\(prefix)last_hidden_state")
        let pooled = try model.pooledState(audio)
        let pooledError = expectParity(pooled, try reference.tensor(prefix + "pooled"), "\(prefix)pooled")
        let expected = try reference.tensor(prefix + "logits")
        let outputsError = expectParity(model.outputs(pooled: pooled), expected, "\(prefix)logits")
        // The card's order: arousal, dominance, valence.
        let affect = try model.estimate(audio)
        let named = Tensor(shape: [3], scalars: [affect.arousal, affect.dominance, affect.valence])
        expectParity(named, expected, "\(prefix)estimate (arousal, dominance, valence)")
        print("Speech emotion parity \(SpeechEmotionFixtures.inputs[prefix]!) (\(audio.count) samples, \(last.shape[0]) frames): "
              + "max|error| / max|reference|: last hidden state \(lastError), pooled \(pooledError), outputs \(outputsError); "
              + "merd \(affect), transformers \(expected.scalars)")
    }

    @Test("the fixture's audio is what merd's decoder makes of the same recording", arguments: ["", "grid."])
    func decodedLikeMerd(prefix: String) throws {
        let decoded = try AudioFileReader.decodeMono16k(TestPaths.sharedData(SpeechEmotionFixtures.inputs[prefix]!))
        let stored = try SpeechEmotionFixtures.reference().tensor(prefix + "audio")
        #expect(decoded.count == stored.count)
        let scale = stored.scalars.map(abs).max() ?? 0
        let error = Tensor(shape: [decoded.count], scalars: decoded).maxAbsoluteDifference(stored)
        print("Speech emotion fixture \(SpeechEmotionFixtures.inputs[prefix]!): decodeMono16k vs ffmpeg's decode: max |difference| \(error) (peak \(scale))")
        #expect(error <= SpeechEmotionTolerance.decoders * scale, "max |difference| \(error), peak \(scale)")
    }
}

/// Named tolerances of the speech emotion tests, beside the parity bar (`expectParity`, 1e-4
/// of the reference's scale, the issue's).
enum SpeechEmotionTolerance {
    /// merd's decoder and the ffmpeg command the fixture script runs both resample with
    /// libswresample's default filter, and both average the channels (the script after
    /// resampling, merd's Resampler in its matrix). With the FFmpeg here they agree bit for bit;
    /// another build may order the sums differently, which moves a sample by float rounding of
    /// the peak, never by the 1e-1 a different downmix or filter makes.
    static let decoders: Float = 1e-5
}
