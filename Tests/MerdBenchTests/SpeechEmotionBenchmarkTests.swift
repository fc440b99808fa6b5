import Foundation
import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("Speech emotion benchmark")
struct SpeechEmotionBenchmarkTests {
    @Test("a tiny model's timing: the work of its configuration, a median among positive times")
    func tiny() throws {
        let model = try SpeechEmotionModel(directory: TestPaths.fixture("speech-emotion/tiny"))
        let benchmark = SpeechEmotionBenchmark(model: model, repeats: 3)
        var random = SeededGenerator(seed: 7)
        let result = try benchmark.measure(seconds: 0.5, using: &random)
        let configuration = model.encoder.configuration
        let expectedFLOPs = configuration.frontEndFLOPs(samples: 8000)
            + configuration.encoderFLOPs(frames: configuration.frameCount(samples: 8000), layers: configuration.hiddenLayers)
        #expect(result.audioSeconds == 0.5 && result.flops == expectedFLOPs && result.flops > 0)
        #expect(result.medianSeconds > 0 && result.realTimeFactor == result.medianSeconds / 0.5)
    }

    @Test("the host's CPU is named")
    func hostCPU() {
        #expect(MachineDescription.current().cores > 0)
    }
}
