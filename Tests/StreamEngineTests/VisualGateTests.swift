import CaptureFile
import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The segmenter's visual gate on a voice that never pauses (a subject, then a background
/// talker, or the other way round) with lips that move or stay still, at 25 frames a second.
@Suite("Visual gate")
struct VisualGateTests {
    static let rate = 16000

    /// Band-limited noise, amplitude-modulated at 4 Hz like syllables: the energy detector's
    /// speech, from `start` to `end` seconds, in `total` seconds of silence.
    static func voice(from start: Double, to end: Double, total: Double, seed: UInt64 = 7) -> [Float] {
        var random = SplitMix64(seed: seed)
        var signal = [Float](repeating: 0, count: Int(total * Double(rate)))
        var previous: Float = 0
        for i in Int(start * Double(rate))..<Int(end * Double(rate)) {
            let white = Float.random(in: -1...1, using: &random)
            // A first difference tilts the noise towards the speech bands.
            let sample = white - 0.5 * previous
            previous = white
            let t = Double(i) / Double(rate)
            signal[i] = 0.1 * sample * Float(0.6 + 0.4 * sin(2 * Double.pi * 4 * t))
        }
        return signal
    }

    /// Lips at 25 fps over [from, to): talking (a 5-Hz opening of 0.1 eye distances) where
    /// `moving` says so, else closed with the landmarks' jitter.
    static func lips(from: Double, to: Double, track: Int = 0, moving: (Double) -> Bool) -> [LipObservation] {
        var random = SplitMix64(seed: 3)
        return stride(from: from, to: to, by: 0.04).map { t in
            let gap = moving(t) ? 0.05 + 0.05 * sin(2 * Double.pi * 5 * t) : 0.02 + Double.random(in: -0.003...0.003, using: &random)
            return LipObservation(sample: Int((t * Double(rate)).rounded()), track: track, gap: gap)
        }
    }

    /// The utterances, and every `speechEnd` handed out while each was open.
    static func segment(_ signal: [Float], lips: [LipObservation], gate: Bool = true) -> (utterances: [Utterance], promised: [[Int]]) {
        var parameters = SegmenterParameters()
        if !gate { parameters.visualGate = nil }
        var segmenter = EnergySegmenter(parameters: parameters)
        var utterances: [Utterance] = []
        var promised: [[Int]] = [[]]
        var next = 0
        for start in stride(from: 0, to: signal.count, by: 320) {
            let end = min(start + 320, signal.count)
            let seen = lips[next...].prefix { $0.sample < end }
            segmenter.observeLips(Array(seen))
            next += seen.count
            var events = segmenter.process(Array(signal[start..<end]))
            if end == signal.count { events += segmenter.finish() }
            for event in events {
                if case .utterance(let utterance) = event {
                    utterances.append(utterance)
                    promised.append([])
                }
            }
            if let speechEnd = segmenter.speechEnd { promised[promised.count - 1].append(speechEnd) }
        }
        return (utterances, promised)
    }

    static func seconds(_ utterances: [Utterance]) -> String {
        utterances.map { String(format: "%.2f–%.2f %@", $0.startSeconds, $0.endSeconds, String(describing: $0.lips)) }.joined(separator: ", ")
    }

    @Test("the lips over the last window: moving, still, or nothing known (no face, or a camera that stalled)")
    func activity() {
        var gate = VisualGate(sampleRate: Self.rate)
        gate.observe(Self.lips(from: 0, to: 1) { $0 < 0.5 })
        #expect(gate.activity(at: 8000) == .moving)
        #expect(gate.activity(at: 15000) == .still)
        // Past the last lips by more than the stale limit: nothing to say.
        #expect(gate.seen(at: 16000 + 4000) == nil)
        #expect(VisualGate(sampleRate: Self.rate).activity(at: 8000) == nil)
        // A second face that talks makes the window moving even beside a still one.
        gate.observe(Self.lips(from: 0, to: 1, track: 1) { _ in true })
        #expect(gate.activity(at: 15000) == .moving)
    }

    @Test("a subject who stops while a background voice goes on: the utterance ends where the lips stopped, the rest is another utterance, labelled still")
    func subjectStops() throws {
        let signal = Self.voice(from: 0.5, to: 2.9, total: 4)
        let lips = Self.lips(from: 0, to: 4) { $0 >= 0.4 && $0 < 1.5 }
        let (utterances, promised) = Self.segment(signal, lips: lips)
        print("Lips stop at 1.5 s, the voice goes on to 2.9 s: \(Self.seconds(utterances))")
        try #require(utterances.count == 2, "\(Self.seconds(utterances))")
        #expect(utterances[0].lips == .moving && utterances[1].lips == .still, "\(Self.seconds(utterances))")
        // The lips stop at 1.5 s: the split lands within a window of it.
        #expect(abs(utterances[0].endSeconds - 1.5) < 0.3, "\(Self.seconds(utterances))")
        #expect(utterances[1].startSample == utterances[0].endSample)
        #expect(abs(utterances[1].endSeconds - 2.94) < 0.1, "\(Self.seconds(utterances))")
        // Without the gate, or with no lips seen, one utterance: the voice never pauses.
        #expect(Self.segment(signal, lips: lips, gate: false).utterances.count == 1)
        #expect(Self.segment(signal, lips: []).utterances == Self.segment(signal, lips: [], gate: false).utterances)
        Self.expectPromisesKept(utterances, promised)
    }

    @Test("a subject who starts during a background voice: the background part is its own utterance, labelled still")
    func subjectStarts() throws {
        let signal = Self.voice(from: 0.5, to: 2.9, total: 4)
        let lips = Self.lips(from: 0, to: 4) { $0 >= 1.4 && $0 < 2.8 }
        let (utterances, promised) = Self.segment(signal, lips: lips)
        print("Voice from 0.5 s, lips move from 1.4 s: \(Self.seconds(utterances))")
        try #require(utterances.count == 2, "\(Self.seconds(utterances))")
        #expect(utterances[0].lips == .still && utterances[1].lips == .moving, "\(Self.seconds(utterances))")
        // Movement starts at 1.4 s; the split is placed a lead before it is confirmed.
        #expect(abs(utterances[1].startSeconds - 1.3) < 0.15, "\(Self.seconds(utterances))")
        Self.expectPromisesKept(utterances, promised)
    }

    @Test("lips that only pause briefly (a held vowel) and a camera that stalls split nothing")
    func noSplit() {
        let signal = Self.voice(from: 0.5, to: 2.9, total: 4)
        // Still for 0.3 s inside speech: shorter than window + stillAfter.
        let brief = Self.lips(from: 0, to: 4) { $0 >= 0.4 && $0 < 2.9 && !($0 >= 1.2 && $0 < 1.5) }
        let (held, heldPromised) = Self.segment(signal, lips: brief)
        #expect(held.count == 1 && held.first?.lips == .moving, "\(Self.seconds(held))")
        Self.expectPromisesKept(held, heldPromised)
        // The camera gives nothing after 1.2 s: stale lips are no lips.
        let stalled = Self.lips(from: 0, to: 1.2) { $0 >= 0.4 }
        let (utterances, _) = Self.segment(signal, lips: stalled)
        #expect(utterances.count == 1, "\(Self.seconds(utterances))")
    }

    /// Every `speechEnd` handed out while an utterance was open lies within what it became:
    /// samples the speech encoder was given belong to it.
    static func expectPromisesKept(_ utterances: [Utterance], _ promised: [[Int]]) {
        for (utterance, ends) in zip(utterances, promised) {
            for end in ends {
                #expect(end >= utterance.startSample && end <= utterance.speechEndSample,
                        "speechEnd \(end) handed out for \(utterance.startSample)..<\(utterance.speechEndSample)")
            }
        }
    }
}

/// The gate's window and threshold on real lips: GRID's seven talking faces, followed as the
/// engine follows them (analysed at 10 fps, landmarks alone between, 25 fps in all).
@Suite("Visual gate on GRID's faces (pretrained models)",
       .enabled(if: VisionFixtures.modelsDirectory != nil, "needs tools/fetch-default-models"))
struct VisualGateOnGRIDTests {
    /// The clip's speech: 10-ms frames whose power, averaged over 50 ms, is within 20 dB of
    /// the loudest.
    static func speech(_ clip: String) throws -> ClosedRange<Int> {
        let audio = try AudioFileReader.decodeMono16k(TestPaths.sharedData("grid/\(clip).mpg"))
        let powers = (0..<(audio.count / 160)).map { f in
            var sum = 0.0
            for x in audio[(f * 160)..<((f + 1) * 160)] { sum += Double(x) * Double(x) }
            return sum / 160
        }
        let smoothed = powers.indices.map { f in
            let span = max(0, f - 2)...min(powers.count - 1, f + 2)
            return powers[span].reduce(0, +) / Double(span.count)
        }
        let threshold = smoothed.max()! / 100
        return (smoothed.firstIndex { $0 >= threshold }! * 160)...((smoothed.lastIndex { $0 >= threshold }! + 1) * 160)
    }

    @Test("inside speech no stretch reads still for as long as a split needs; in the silence after it, most windows read still")
    func gridLips() throws {
        var longestInside: [String: Double] = [:]
        var stillAfter = 0, windowsAfter = 0
        for clip in ["bbaf2n", "brbk7n", "id2_vcd_swwp2s", "lbax4n", "lbbc2a", "lrwp9a", "sbwe5n"] {
            var pipeline = try FaceTrackingTests.pipeline()
            var gate = VisualGate(sampleRate: 16000)
            var lastAnalysed = -Double.infinity
            for (index, image) in try FacePipelineTests.frames(clip).enumerated() {
                let time = Double(index) / 25
                var gaps: [Int: Double] = [:]
                if time - lastAnalysed >= 0.095 {
                    lastAnalysed = time
                    for face in pipeline.analyze(image, time: time).faces {
                        if let opening = MouthOpening.measure(face.observation.landmarks) { gaps[face.id] = opening.inner }
                    }
                } else {
                    gaps = pipeline.followMouths(image).mapValues(\.inner)
                }
                gate.observe(gaps.map { LipObservation(sample: index * 640, track: $0.key, gap: $0.value) })
            }
            let speech = try Self.speech(clip)
            var run = 0, longest = 0
            for sample in stride(from: speech.lowerBound + 4800, through: speech.upperBound, by: 640) {
                run = gate.activity(at: sample) == .still ? run + 1 : 0
                longest = max(longest, run)
            }
            longestInside[clip] = Double(longest) * 0.04
            for sample in stride(from: speech.upperBound + 4800 + 800, to: 75 * 640, by: 640) {
                windowsAfter += 1
                if gate.activity(at: sample) == .still { stillAfter += 1 }
            }
        }
        print("Longest still stretch inside speech, s: \(longestInside.sorted { $0.key < $1.key }); windows still after speech: \(stillAfter) of \(windowsAfter)")
        // A split needs stillness for `stillAfterMilliseconds` after the window has turned still.
        let limit = Double(VisualGate.Parameters().stillAfterMilliseconds) / 1000
        #expect(longestInside.values.allSatisfy { $0 < limit }, "\(longestInside)")
        #expect(windowsAfter >= 40 && Double(stillAfter) >= 0.85 * Double(windowsAfter), "\(stillAfter) of \(windowsAfter)")
    }
}
