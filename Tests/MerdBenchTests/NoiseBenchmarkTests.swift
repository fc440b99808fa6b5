import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("Noise benchmark")
struct NoiseBenchmarkTests {
    @Test("speech table: the shared data's 48 utterances scored clean and at 20, 10 and 5 dB of background speech")
    func speech() async throws {
        let result = try await onOwnThread { try NoiseBenchmark(dataFolder: TestPaths.sharedData("")).speech() }
        // Every 4th recording of EmoDB speakers 03–10 (47) and the aligned GRID clip.
        #expect(result.utterances == 48)
        #expect(result.noiseSeconds > 60, "speaker 11's recordings: \(result.noiseSeconds) s")
        #expect(result.rows.map(\.snr) == [nil, 20, 10, 5])
        for row in result.rows {
            #expect(row.score.found + row.score.missed == result.utterances, "every utterance found or missed at \(String(describing: row.snr))")
        }
        // Clean speech the segmenter is built for: (nearly) every utterance.
        let clean = result.rows[0].score
        #expect(clean.found >= result.utterances - 2, "clean: \(clean.found) of \(result.utterances) found")
    }

    @Test("face table: every condition over the same frames, clean first", .enabled(if: TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models"))
    func faces() throws {
        let models = try VisionModels(directory: TestPaths.pretrainedModels!)
        let result = try NoiseBenchmark(dataFolder: TestPaths.sharedData(""), every: 25).faces(models)
        #expect(result.clips == 7 && result.frames == 7 * 3, "every 25th of 75 frames in 7 clips")
        #expect(result.rows.first?.corruption == "clean" && result.rows.count == 9)
        #expect(result.rows.allSatisfy { $0.frames == result.frames && $0.usable <= $0.frames })
        #expect(result.rows[0].meanTVDistance == nil && result.rows[0].usable == result.frames)
    }
}
