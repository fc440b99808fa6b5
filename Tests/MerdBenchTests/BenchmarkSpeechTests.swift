import MerdBench
import StreamEngine
import TestSupport
import Testing

@Suite("Benchmark speech stream")
struct BenchmarkSpeechTests {
    @Test("recordings joined 1, 2, 3 at a time (one more under 2 s), each utterance followed by the gap")
    func joins() {
        let second = 16000, join = BenchmarkSpeech.joinSamples
        // Recording r is 1 s of the value r + 1, so every sample says where it came from.
        let recordings = (0..<7).map { [Float](repeating: Float($0 + 1), count: second) }
        let speech = BenchmarkSpeech(recordings: recordings, utterances: 3, gapSeconds: 0.5)
        // u0: 1 recording (1 s < 2 s, so one more); u1: 2; u2: 3.
        let layout = [[1, 2], [3, 4], [5, 6, 7]]
        let lengths = layout.map { $0.count * second + ($0.count - 1) * join }
        #expect(speech.spanSeconds == lengths.map { Double($0) / 16000 })
        var expected = [Float](repeating: 0, count: second)
        var ends: [Double] = []
        for recordingsOfUtterance in layout {
            for (p, r) in recordingsOfUtterance.enumerated() {
                if p > 0 { expected += [Float](repeating: 0, count: join) }
                expected += [Float](repeating: Float(r), count: second)
            }
            ends.append(Double(expected.count) / 16000)
            expected += [Float](repeating: 0, count: second / 2)
        }
        expected += [Float](repeating: 0, count: second)
        #expect(speech.speechEndSeconds == ends)
        #expect(speech.samples == expected)
        #expect(speech.seconds == Double(expected.count) / 16000)
    }

    @Test("fewer utterances when the recordings run out, none empty")
    func runsOut() {
        let speech = BenchmarkSpeech(recordings: [[Float](repeating: 1, count: 48000)], utterances: 4, gapSeconds: 1)
        #expect(speech.spanSeconds == [3])
        #expect(speech.speechEndSeconds == [4])
        #expect(speech.samples.count == 16000 + 48000 + 16000 + 16000)
    }

    @Test("a speech end is matched only within the tolerance")
    func nearestEnd() {
        // Two utterances of one 2.5 s recording each.
        let speech = BenchmarkSpeech(recordings: (0..<2).map { _ in [Float](repeating: 1, count: 40000) }, utterances: 2, gapSeconds: 1)
        #expect(speech.speechEndSeconds == [3.5, 7])
        #expect(speech.speechEnd(near: 3.7, tolerance: 0.3) == 3.5)
        #expect(speech.speechEnd(near: 6.8, tolerance: 0.3) == 7)
        #expect(speech.speechEnd(near: 5, tolerance: 0.3) == nil)
    }

    @Test("a data folder without emodb/wav is named in the error")
    func missingFolder() {
        #expect(throws: BenchmarkError.missingFolder(path: "/nonexistent/emodb/wav")) {
            _ = try BenchmarkSpeech(dataFolder: "/nonexistent", utterances: 1, gapSeconds: 1)
        }
    }

    @Test("EmoDB from the shared data: utterances of at least 2 s where it says, silence around them, one utterance each to the segmenter")
    func sharedData() async throws {
        let speech = try await onOwnThread { try BenchmarkSpeech(dataFolder: TestPaths.sharedData(""), utterances: 3, gapSeconds: 0.5) }
        #expect(speech.spanSeconds.count == 3 && speech.speechEndSeconds.count == 3)
        let gap = 8000
        var cursor = 16000
        #expect(speech.samples[..<cursor].allSatisfy { $0 == 0 }, "1 s of silence first")
        for (span, end) in zip(speech.spanSeconds, speech.speechEndSeconds) {
            #expect(span >= 2, "an utterance of \(span) s")
            let start = Int((end - span) * 16000 + 0.5), stop = Int(end * 16000 + 0.5)
            #expect(start == cursor, "utterance right after the silence before it")
            // Trimmed to the voiced span: its first and last 10 ms are not silent.
            let energy = { (range: Range<Int>) in speech.samples[range].map { $0 * $0 }.reduce(0, +) }
            #expect(energy(start..<(start + 160)) > 0 && energy((stop - 160)..<stop) > 0, "speech at both edges")
            #expect(speech.samples[stop..<(stop + gap)].allSatisfy { $0 == 0 }, "the gap after \(end) s is silent")
            cursor = stop + gap
        }
        #expect(speech.samples.count == cursor + 16000 && speech.samples[cursor...].allSatisfy { $0 == 0 }, "1 s of silence last")

        // What `merd bench engine` relies on: each utterance is one to the segmenter, ending
        // near where the stream says its speech ends.
        let ends = try await onOwnThread {
            var segmenter = EnergySegmenter(parameters: SegmenterParameters())
            var events: [SegmenterEvent] = []
            for start in stride(from: 0, to: speech.samples.count, by: 320) {
                events += segmenter.process(Array(speech.samples[start..<min(start + 320, speech.samples.count)]))
            }
            events += segmenter.finish()
            return events.compactMap { event -> Double? in
                if case .utterance(let u) = event { return Double(u.endSample) / 16000 }
                return nil
            }
        }
        #expect(ends.count == 3, "segmenter ends at \(ends)")
        for end in ends {
            #expect(speech.speechEnd(near: end, tolerance: EngineBenchmark.matchToleranceSeconds) != nil,
                    "an utterance ending at \(end) s, the stream's ends \(speech.speechEndSeconds)")
        }
    }
}
