import MediaTypes
import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("Engine benchmark")
struct EngineBenchmarkTests {
    @Test("one live-paced utterance through a tiny HuBERT: one event, matched to the speech it came from, after it")
    func oneUtterance() async throws {
        var settings = EngineConfiguration()
        settings.layers = [4, 5]
        let hubert = try HuBERT(directory: TestPaths.fixture("hubert/large"), highestLayer: 5)
        let stages = EngineStages(hubert: hubert, fusion: nil, vision: nil, configuration: settings)
        let speech = try BenchmarkSpeech(dataFolder: TestPaths.sharedData(""), utterances: 1, gapSeconds: 0.3)
        try #require(speech.spanSeconds.count == 1)
        let started = MediaTime.now()
        let result = try await EngineBenchmark(stages: stages, configuration: settings, speech: speech, video: nil).run()
        #expect((MediaTime.now() - started).seconds >= speech.seconds, "paced as live: the stream's length at least")
        #expect(result.latenciesMilliseconds.count == 1, "\(result.latenciesMilliseconds)")
        #expect(result.latency?.count == 1)
        #expect(result.faceEvents == 0 && result.droppedFrames == 0, "no camera")
        let fromSpeech = try #require(result.fromSpeech, "the event matched the utterance's end")
        #expect(fromSpeech.count == 1)
        // An event cannot arrive before the speech it describes has been spoken.
        #expect(fromSpeech.medianMilliseconds > 0)
        #expect(result.speculations.used <= result.speculations.run)
        // The engine's share of the latency: some work, and no more than the whole latency.
        #expect(result.finishMicroseconds.count == 1 && result.finishMicroseconds[0] > 0
                && result.finishMicroseconds[0] <= result.latenciesMilliseconds[0] * 1000 + 1000, "\(result.finishMicroseconds)")
    }
}
