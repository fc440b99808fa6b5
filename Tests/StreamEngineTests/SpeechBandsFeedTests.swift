import Foundation
import NeuralKit
@testable import StreamEngine
import Testing

@Suite("Speech bands made as the audio arrives")
struct SpeechBandsFeedTests {
    /// The stream as the audio loop gives it, in chunks of `sizes` (cycled).
    static func chunks(of stream: [Float], sizes: [Int]) -> [[Float]] {
        var result: [[Float]] = [], at = 0, next = 0
        while at < stream.count {
            let size = min(sizes[next % sizes.count], stream.count - at)
            result.append(Array(stream[at..<(at + size)]))
            at += size
            next += 1
        }
        return result
    }

    @Test("an utterance's bands are the rows SpeechBands(samples:) makes of the same samples, exactly, whatever the chunks; from its lead, or from the stream's start when the lead is cut; overlapping utterances each their own")
    func sameRowsAsAtTheEnd() throws {
        let (stream, _) = ActiveSpeakerAgreementTests.syllables(seed: 5)
        let origin = 12.5
        // Utterances (begin sample, end sample): the segmenter reports a beginning after its
        // first sample and confirms an end a hangover later, so both are told after the
        // audio passed them. The first starts too early for a whole 0.2-s lead.
        let utterances = [(id: 0, start: 1000, end: 21_000), (id: 1, start: 18_000, end: 40_007), (id: 2, start: 40_007, end: 40_300)]
        for sizes in [[320], [1, 7, 400, 2999], [48_000]] {
            var feed = try #require(SpeechBandsFeed(sampleRate: 16000))
            var fed = 0, begun: Set<Int> = [], made: [Int: ActiveSpeaker.SpeechBands] = [:]
            for chunk in Self.chunks(of: stream, sizes: sizes) {
                feed.append(chunk)
                fed += chunk.count
                for u in utterances where !begun.contains(u.id) && fed >= min(stream.count, u.start + 500) {
                    feed.begin(utterance: u.id, startSample: u.start)
                    begun.insert(u.id)
                }
                for u in utterances where begun.contains(u.id) && made[u.id] == nil && fed >= min(stream.count, u.end + 3840) {
                    let bands = feed.finish(utterance: u.id, endSample: u.end, origin: origin)
                    let value: ActiveSpeaker.SpeechBands = try #require(bands, "utterance \(u.id), chunks \(sizes)")
                    made[u.id] = value
                }
            }
            for u in utterances {
                let first = max(0, u.start - 3200)
                let expected = try #require(ActiveSpeaker.SpeechBands(samples: stream[first..<u.end], sampleRate: 16000, start: origin + Double(first) / 16000))
                let bands = try #require(made[u.id], "utterance \(u.id), chunks \(sizes)")
                #expect(bands.rows == expected.rows && !bands.rows.isEmpty == (u.end - first >= 400), "utterance \(u.id), chunks \(sizes): \(bands.rows.count) rows, \(expected.rows.count) expected")
                #expect(bands.start == expected.start && bands.hop == expected.hop && bands.centre == expected.centre, "utterance \(u.id)")
            }
        }
    }

    @Test("no bands for an utterance never begun, once finished, or asked past the audio it was given")
    func refusals() throws {
        var feed = try #require(SpeechBandsFeed(sampleRate: 16000))
        feed.append([Float](repeating: 0.1, count: 8000))
        #expect(feed.finish(utterance: 3, endSample: 4000, origin: 0) == nil, "never begun")
        feed.begin(utterance: 3, startSample: 4000)
        #expect(feed.finish(utterance: 3, endSample: 8001, origin: 0) == nil, "one sample past what was fed")
        feed.begin(utterance: 4, startSample: 4000)
        let finished = feed.finish(utterance: 4, endSample: 8000, origin: 0)
        let bands = try #require(finished)
        #expect(bands.rows.count == (8000 - 800 - 400) / 160 + 1)
        #expect(feed.finish(utterance: 4, endSample: 8000, origin: 0) == nil, "already finished")
    }

    @Test("an utterance reported only at its end, from further back than the recent seconds reach, gets the bands of its own audio")
    func reportedLate() throws {
        let (stream, _) = ActiveSpeakerAgreementTests.syllables(seed: 9)
        let long = stream + stream + stream
        var feed = try #require(SpeechBandsFeed(sampleRate: 16000))
        for chunk in Self.chunks(of: long, sizes: [320]) { feed.append(chunk) }
        let utterance = Utterance(startSample: 1000, endSample: long.count - 2000, speechEndSample: long.count - 2600, sampleRate: 16000,
                                  audio: Array(long[1000..<(long.count - 2000)]), forcedSplit: false)
        feed.begin(utterance: 0, startSample: utterance.startSample)
        let finished = feed.finish(utterance: 0, utterance, origin: 2)
        let bands = try #require(finished)
        let expected = try #require(ActiveSpeaker.SpeechBands(samples: utterance.audio[...], sampleRate: 16000, start: 2 + 1000.0 / 16000))
        #expect(bands.rows == expected.rows && bands.start == expected.start, "\(bands.rows.count) rows, \(expected.rows.count) expected")
    }
}
