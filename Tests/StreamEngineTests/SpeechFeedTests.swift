import Foundation
import StreamEngine
import TestSupport
import Testing

/// `SpeechFeed` driven 20 ms at a time over synthetic speech: the steps it asks for, with no
/// model and no clock.
@Suite("speech feed")
struct SpeechFeedTests {
    /// Feeds `speech` in 20 ms pieces (then ends the stream), returning every step and the
    /// feed's `pendingSpeechEnd` after each piece.
    static func drive(_ speech: SyntheticSpeech, speculateAfter: Int? = 0) -> (steps: [SpeechFeed.Step], pending: [Int?]) {
        var feed = SpeechFeed(segmenter: EnergySegmenter(), speculateAfterPauseMilliseconds: speculateAfter)
        var steps: [SpeechFeed.Step] = []
        var pending: [Int?] = []
        var offset = 0
        while offset < speech.samples.count {
            let end = min(offset + 320, speech.samples.count)
            steps += feed.process(Array(speech.samples[offset..<end]))
            pending.append(feed.pendingSpeechEnd)
            offset = end
        }
        steps += feed.finish()
        return (steps, pending)
    }

    static let twoUtterances = SyntheticSpeech([.silence(seconds: 1), .speech(seconds: 0.8), .silence(seconds: 0.15), .speech(seconds: 0.6),
                                                .silence(seconds: 1), .speech(seconds: 0.5), .silence(seconds: 1)])

    @Test("pushes and the finishing rest are exactly the utterance's speech, in order, after its begin")
    func pushesAreTheSpeech() throws {
        let (steps, _) = Self.drive(Self.twoUtterances)
        var pushed: [Int: [Float]] = [:]
        var begun: Set<Int> = []
        var finished: [Utterance] = []
        for step in steps {
            switch step {
            case .begin(let id, _):
                #expect(!begun.contains(id))
                begun.insert(id)
            case .push(let id, let samples):
                #expect(begun.contains(id), "a push before its utterance began")
                pushed[id, default: []] += samples
            case .speculate(let id, _, _):
                #expect(begun.contains(id))
            case .finish(let id, let utterance, let rest):
                #expect(begun.contains(id))
                let all = pushed[id, default: []] + rest
                let speech = Array(utterance.audio[0..<(utterance.speechEndSample - utterance.startSample)])
                #expect(all == speech, "utterance \(id): \(all.count) samples handed over, \(speech.count) of speech")
                #expect(pushed[id, default: []].count > speech.count / 2, "most samples go out while the utterance is spoken")
                finished.append(utterance)
                begun.remove(id)
            }
        }
        // The 150 ms pause is inside the first utterance (shorter than the 240 ms hangover).
        #expect(finished.count == 2)
        #expect(begun.isEmpty)
        let spans = Self.twoUtterances.speechSpans
        #expect(abs(finished[0].speechEndSample - spans[1].upperBound) < 400, "\(finished[0].speechEndSample) vs \(spans[1].upperBound)")
        #expect(abs(finished[1].speechEndSample - spans[2].upperBound) < 400)
    }

    @Test("a pause asks for a speculation at the speech's end; the confirmed end is the same sample, with the same samples")
    func speculationMatchesTheEnd() throws {
        let (steps, _) = Self.drive(Self.twoUtterances)
        var pushed: [Int: [Float]] = [:]
        var speculations: [Int: [(rest: [Float], end: Int, pushedBefore: Int)]] = [:]
        for step in steps {
            switch step {
            case .push(let id, let samples): pushed[id, default: []] += samples
            case .speculate(let id, let rest, let end): speculations[id, default: []].append((rest, end, pushed[id, default: []].count))
            case .finish(let id, let utterance, let rest):
                let last = try #require(speculations[id]?.last, "no speculation for utterance \(id)")
                #expect(last.end == utterance.speechEndSample)
                #expect(last.pushedBefore + last.rest.count == pushed[id, default: []].count + rest.count,
                        "the speculation saw as many samples as the end hands over")
            case .begin: break
            }
        }
        // The first utterance's inner pause asked for one that speech then withdrew.
        #expect((speculations[0]?.count ?? 0) >= 2)
    }

    @Test("speech that resumes withdraws the pending end")
    func resumedSpeechWithdraws() {
        let (_, pending) = Self.drive(Self.twoUtterances)
        // Pieces are 20 ms: the inner pause starts at 1.8 s (piece 90) and speech resumes at 1.95 s.
        let duringPause = pending[93...96].compactMap { $0 }
        #expect(!duringPause.isEmpty, "a pending end while the pause lasts")
        #expect(pending[100] == nil, "speech resumed: no pending end")
    }

    @Test("without speculation no speculate step is asked for; the handed-over samples are the same")
    func noSpeculation() {
        let (steps, pending) = Self.drive(Self.twoUtterances, speculateAfter: nil)
        #expect(!steps.contains { if case .speculate = $0 { return true } else { return false } })
        #expect(pending.allSatisfy { $0 == nil })
        #expect(steps.filter { if case .finish = $0 { return true } else { return false } }.count == 2)
    }
}
