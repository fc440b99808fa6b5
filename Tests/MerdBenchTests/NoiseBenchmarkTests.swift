import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("Noise benchmark")
struct NoiseBenchmarkTests {
    @Test("speech table: the shared data's 48 utterances scored clean and at 20, 10 and 5 dB of background speech, by each detector",
          .enabled(if: TestPaths.sileroVAD != nil, "needs tools/fetch-default-models"))
    func speech() async throws {
        let model = try SileroVAD(path: TestPaths.sileroVAD!)
        let result = try await onOwnThread { try NoiseBenchmark(dataFolder: TestPaths.sharedData("")).speech(voiceDetector: model) }
        // Every 4th recording of EmoDB speakers 03–10 (47) and the aligned GRID clip.
        #expect(result.utterances == 48)
        #expect(result.noiseSeconds > 60, "speaker 11's recordings: \(result.noiseSeconds) s")
        #expect(result.rows.map(\.snr) == [nil, 20, 10, 5, nil, 20, 10, 5, nil, 20, 10, 5])
        #expect(result.rows.map(\.detector) == Array(repeating: "energy", count: 4) + Array(repeating: "silero", count: 4)
                + Array(repeating: "silero, no level gate", count: 4))
        // Under a background talker 20 dB down, Silero VAD with its level gate keeps most
        // utterances apart, where the energy detector and Silero alone merge them.
        let found = Dictionary(uniqueKeysWithValues: result.rows.filter { $0.snr == 20 }.map { ($0.detector, $0.score.found) })
        #expect(found["silero"]! >= 40 && found["silero"]! > found["energy"]! && found["silero"]! > found["silero, no level gate"]!, "\(found)")
        for row in result.rows {
            #expect(row.score.found + row.score.missed == result.utterances, "every utterance found or missed at \(String(describing: row.snr))")
        }
        // Clean speech: (nearly) every utterance, by every detector.
        for row in result.rows where row.snr == nil {
            #expect(row.score.found >= result.utterances - 2, "\(row.detector), clean: \(row.score.found) of \(result.utterances) found")
        }
    }

    @Test("visual gate table: GRID's faces under an off-camera talker, each detector with and without the gate",
          .enabled(if: TestPaths.sileroVAD != nil && TestPaths.pretrainedModels != nil, "needs tools/fetch-default-models"))
    func visualGate() async throws {
        let model = try SileroVAD(path: TestPaths.sileroVAD!)
        let models = try VisionModels(directory: TestPaths.pretrainedModels!)
        let result = try await onOwnThread { try NoiseBenchmark(dataFolder: TestPaths.sharedData("")).visualGate(models: models, voiceDetector: model) }
        for row in result.rows {
            print(String(format: "%@ | %@ | %@ | %d | %d | %d | %.0f | %.0f", row.detector, row.gate, row.snr.map { "\($0)" } ?? "none",
                         row.score.found, row.score.missed, row.score.falseAlarms, row.score.percentile(0.5), row.score.percentile(0.9)))
        }
        #expect(result.utterances == 21 && result.clips == 7)
        #expect(result.rows.count == 2 * 3 * 4)
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
