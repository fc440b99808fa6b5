import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("HuBERT benchmark")
struct HuBERTBenchmarkTests {
    @Test("a tiny HuBERT's timing: the work of its configuration, a median among positive times")
    func tiny() throws {
        let encoder = try HuBERT(directory: TestPaths.fixture("hubert/large"))
        let benchmark = HuBERTBenchmark(encoder: encoder, repeats: 3)
        var random = SeededGenerator(seed: 7)
        let result = try benchmark.measure(seconds: 0.5, using: &random)
        let configuration = encoder.configuration
        let expectedFLOPs = configuration.frontEndFLOPs(samples: 8000)
            + configuration.encoderFLOPs(frames: configuration.frameCount(samples: 8000), layers: encoder.hiddenLayers)
        #expect(result.audioSeconds == 0.5)
        #expect(result.flops == expectedFLOPs && result.flops > 0)
        #expect(result.medianSeconds > 0 && result.frontEndSeconds > 0)
        #expect(result.realTimeFactor == result.medianSeconds / 0.5)
        #expect(result.gigaFLOPsPerSecond == expectedFLOPs / result.medianSeconds / 1e9)
    }
}
