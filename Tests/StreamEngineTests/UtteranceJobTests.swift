import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The engine's speculative last window: started when a pause begins, used only when the
/// utterance ends there, and then the very features the end would have computed.
@Suite("Speculative last window")
struct UtteranceJobTests {
    static let layers = [1, 3, 5]
    static let windowing = HuBERTWindowing(windowSeconds: 1, overlapSeconds: 0.25, normalizationSeconds: 1)

    /// A job fed `audio` in 20 ms chunks, as the engine feeds it while speech goes on.
    static func job(_ model: HuBERT, _ audio: ArraySlice<Float>) -> UtteranceJob {
        let job = UtteranceJob(model: model, layers: layers, windowing: windowing)
        for start in stride(from: audio.startIndex, to: audio.endIndex, by: 320) {
            job.push(Array(audio[start..<min(start + 320, audio.endIndex)]))
        }
        return job
    }

    static func same(_ a: [Int: Tensor]?, _ b: [Int: Tensor]?) -> Bool {
        guard let a, let b, a.keys.sorted() == b.keys.sorted() else { return false }
        return a.keys.allSatisfy { a[$0]!.scalars == b[$0]!.scalars }
    }

    /// Equal up to rounding: pushed in other pieces, the front end runs GEMMs of other heights,
    /// which OpenBLAS sums in another order (HuBERTStreamingTests).
    static func close(_ a: [Int: Tensor]?, _ b: [Int: Tensor]?) -> Bool {
        guard let a, let b, a.keys.sorted() == b.keys.sorted() else { return false }
        return a.keys.allSatisfy { a[$0]!.maxAbsoluteDifference(b[$0]!) <= 1e-5 * (b[$0]!.scalars.map(abs).max() ?? 1) }
    }

    @Test("the utterance ends where the pause began: the speculated features are handed over, equal to computing them at the end", arguments: ["base", "large"])
    func hit(family: String) throws {
        let model = try HuBERT(directory: HuBERTFixtures.path(family))
        let audio = try Speech.utterances(2)[..<40000]  // 2.5 s: two periodic windows, then the last
        let pushed = 36800
        let plain = Self.job(model, audio[..<pushed]).finish(rest: Array(audio[pushed...]))

        let job = Self.job(model, audio[..<pushed])
        #expect(job.speculate(Array(audio[pushed...]), stillWanted: { true }))
        let speculated = job.finish(rest: Array(audio[pushed...]))
        #expect(job.usedSpeculation)
        #expect(Self.same(speculated, plain))

        // And both are the encoder's own features of the utterance fed as capture feeds it.
        var encoder = try HuBERTUtteranceEncoder(model: model, layers: Self.layers, windowing: Self.windowing)
        for start in stride(from: 0, to: audio.count, by: 320) { try encoder.push(Array(audio[start..<min(start + 320, audio.count)])) }
        #expect(Self.close(try encoder.finish(), plain))
    }

    @Test("speech resumed after the pause: the speculation is not used and the end computes its own features")
    func miss() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        let audio = try Speech.utterances(2)[..<40000]
        let job = Self.job(model, audio[..<30000])
        #expect(job.speculate(Array(audio[30000..<32000]), stillWanted: { true }))  // a pause that was not the end
        job.push(Array(audio[30000..<36800]))
        let features = job.finish(rest: Array(audio[36800...]))
        #expect(!job.usedSpeculation)
        #expect(Self.close(features, Self.job(model, audio[..<36800]).finish(rest: Array(audio[36800...]))))
    }

    /// Speculates on a job fed `audio[..<pushed]` with the rest, wanted for the first
    /// `wantedFor` asks; checks it was dropped and left the job as a job never asked. Returns
    /// how many times it was asked.
    static func dropSpeculation(_ model: HuBERT, _ audio: ArraySlice<Float>, pushed: Int, wantedFor: Int) -> Int {
        let job = Self.job(model, audio[..<pushed])
        let rest = Array(audio[pushed...])
        var asked = 0
        #expect(!job.speculate(rest, stillWanted: { asked += 1; return asked <= wantedFor }))
        let features = job.finish(rest: rest)
        #expect(!job.usedSpeculation)
        #expect(Self.same(features, Self.job(model, audio[..<pushed]).finish(rest: rest)))
        return asked
    }

    @Test("a speculation whose pause ends while it runs is dropped between layers and leaves the job as it was")
    func abandoned() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        let speech = try Speech.utterances(2)
        try #require(speech.count >= 44000)
        // 40000 samples (125 frames) have run every periodic window up to frames 74–123; the
        // pause's 4000 more complete none, so only the last window is left to the copy.
        // Wanted when it starts, before the front end's last frames and for the first two
        // layers, then speech resumes.
        let asked = Self.dropSpeculation(model, speech[..<44000], pushed: 40000, wantedFor: 4)
        #expect(asked == 5, "asked before the work, before the front end's end and before each layer until it stopped")
    }

    @Test("a speculation whose samples complete a periodic window, dropped on the way, leaves the job as it was")
    func abandonedPeriodicWindow() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        // 30000 samples have run the windows of frames 0–49 and 37–86; the pause's 10000
        // more complete the one of frames 74–123, which the copy runs on being pushed them.
        let asked = Self.dropSpeculation(model, try Speech.utterances(2)[..<40000], pushed: 30000, wantedFor: 2)
        #expect(asked == 3, "asked before the work, then before each layer until it stopped (the periodic window's first)")
    }

    @Test("within the first second (samples held back for the input's statistics) a speculation dropped on the way leaves the job as it was")
    func abandonedBeforeStatistics() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        #expect(model.preprocessing.normalize, "the fixture normalises its input, as HuBERT-large does")
        let asked = Self.dropSpeculation(model, try Speech.utterances(1)[..<12000], pushed: 8000, wantedFor: 1)
        #expect(asked == 2, "asked before the work, then before the held-back samples' pass, where it stopped")
    }

    @Test("samples that complete a periodic window: pushed to be abandoned, the window stops before its first layer")
    func encoderAbandonsPeriodicWindow() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        let audio = Array(try Speech.utterances(2)[..<40000])
        var encoder = try HuBERTUtteranceEncoder(model: model, layers: Self.layers, windowing: Self.windowing)
        try encoder.push(Array(audio[..<30000]))
        var full = encoder
        try full.push(Array(audio[30000...]))
        #expect(full.windowsRun == encoder.windowsRun + 1, "the 10000 samples complete one more window")
        var copy = encoder
        #expect(try !copy.push(Array(audio[30000...]), abandonIf: { true }))
        #expect(copy.windowsRun == encoder.windowsRun)
        var kept = encoder
        #expect(try kept.push(Array(audio[30000...]), abandonIf: { false }))
        #expect(kept.windowsRun == full.windowsRun)
    }

    @Test("within the first second, an end to be abandoned does not run the front end over the held-back samples")
    func encoderAbandonsHeldBack() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        #expect(model.preprocessing.normalize, "the fixture normalises its input, as HuBERT-large does")
        var encoder = try HuBERTUtteranceEncoder(model: model, layers: Self.layers, windowing: Self.windowing)
        try encoder.push(Array(try Speech.utterances(1)[..<8000]))
        var copy = encoder
        #expect(try copy.finish(abandonIf: { true }) == nil)
        #expect(copy.frontEnd.frameCount == 0, "no frames made")
        #expect(try encoder.finish(abandonIf: { false }) != nil)
        #expect(encoder.frontEnd.frameCount > 0)
    }

    @Test("the encoder abandons its last window when asked, and only then")
    func encoderAbandons() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("base"))
        let audio = Array(try Speech.utterances(1).prefix(24000))
        var encoder = try HuBERTUtteranceEncoder(model: model, layers: Self.layers, windowing: Self.windowing)
        try encoder.push(audio)
        var copy = encoder
        #expect(try copy.finish(abandonIf: { true }) == nil)
        #expect(try encoder.finish(abandonIf: { false }) != nil)
    }
}
