import Foundation
import MediaCodec
import NeuralKit
import Testing
@testable import StreamEngine

/// The parts `ActiveSpeaker` judges with: the band levels, the agreement statistic, the
/// movement floor. (Choices on real faces: `ActiveSpeakerTests`.)
@Suite("Active speaker: bands and agreement")
struct ActiveSpeakerAgreementTests {
    @Test("a 700-Hz tone puts its energy in the 500–1000 Hz band, ≥ 40 dB above the others; rows every 10 ms")
    func toneBand() throws {
        let analyser = try #require(BandEnergies(bands: ActiveSpeaker.bands))
        let samples = (0..<16000).map { Float(0.3 * sin(2 * Double.pi * 700 * Double($0) / 16000)) }
        let rows = analyser.levels(samples[...])
        #expect(rows.count == (16000 - 400) / 160 + 1)
        for row in rows {
            #expect(row.count == 4)
            for band in [0, 2, 3] { #expect(row[1] - row[band] >= 40, "\(row)") }
        }
        #expect(analyser.levels(samples[0..<399]).isEmpty)
    }

    @Test("SpeechBands places row i at start + 12.5 ms + i · 10 ms and interpolates between rows")
    func bandTimes() throws {
        // Silence then a tone from 0.5 s: the 500–1000 Hz band rises around media time 3.5 s.
        let samples = (0..<16000).map { $0 < 8000 ? Float(0) : Float(0.3 * sin(2 * Double.pi * 700 * Double($0) / 16000)) }
        let bands = try #require(ActiveSpeaker.SpeechBands(samples: samples[...], sampleRate: 16000, start: 3))
        #expect(abs(bands.centre - 0.0125) < 1e-9)
        #expect(bands.levels(at: 3.0) == nil)
        let quiet = try #require(bands.levels(at: 3.4)), loud = try #require(bands.levels(at: 3.6))
        #expect(loud[1] - quiet[1] > 60)
        let between = try #require(bands.levels(at: 3.0125 + 0.005))
        #expect(abs(between[1] - (bands.rows[0][1] + bands.rows[1][1]) / 2) < 1e-9)
    }

    @Test("agreement: a series that is a mix of the bands reaches the ridge's ceiling 1/(1 + λ); noise stays low; scale and offset change nothing")
    func agreement() throws {
        var generator = SplitMix64(seed: 7)
        let rows = (0..<4000).map { _ in (0..<4).map { _ in gaussian(&generator) } }
        let mixed = rows.map { 0.5 * $0[0] - 1.5 * $0[2] + 0.25 * $0[3] }
        let exact = try #require(ActiveSpeaker.agreement(zip(mixed, rows).map { ([$0], $1) }))
        #expect(abs(exact - 1 / (1 + ActiveSpeaker.ridge)) < 0.02, "\(exact)")
        let rescaled = try #require(ActiveSpeaker.agreement(zip(mixed, rows).map { ([7 * $0 + 3], $1) }))
        #expect(abs(rescaled - exact) < 1e-9)
        let noise = (0..<4000).map { _ in gaussian(&generator) }
        let unrelated = try #require(ActiveSpeaker.agreement(zip(noise, rows).map { ([$0], $1) }))
        #expect(unrelated < 0.1, "\(unrelated)")
        let half = zip(mixed, noise).map { $0 + 2 * $1 }
        let partial = try #require(ActiveSpeaker.agreement(zip(half, rows).map { ([$0], $1) }))
        #expect(partial > unrelated && partial < exact, "\(partial)")
        // Two measures (the inner and outer gaps): two orthogonal mixes reach the same ceiling;
        // their order changes nothing; a second measure that does not vary adds nothing.
        let two = rows.map { [$0[0] + $0[1], 3 * ($0[2] - $0[3])] }
        let both = try #require(ActiveSpeaker.agreement(zip(two, rows).map { ($0, $1) }))
        #expect(abs(both - 1 / (1 + ActiveSpeaker.ridge)) < 0.02, "\(both)")
        let swapped = try #require(ActiveSpeaker.agreement(zip(two, rows).map { ([$0[1], $0[0]], $1) }))
        #expect(abs(swapped - both) < 1e-9)
        let stillOuter = try #require(ActiveSpeaker.agreement(zip(mixed, rows).map { ([$0, 0.3], $1) }))
        #expect(abs(stillOuter - exact) < 1e-9)
        #expect(ActiveSpeaker.agreement(rows.map { ([1.0], $0) }) == nil)
        #expect(ActiveSpeaker.agreement(mixed.map { ([$0], [0.0, 0, 0, 0]) }) == nil)
    }

    @Test("a still mouth is no candidate; one that opens and closes at speech's pace is")
    func movement() {
        // Camera noise of ±0.001 eye distances a frame; a mouth opening four times a second.
        let still: ActiveSpeaker.MouthSeries = (0..<50).map { frame in
            let gap: Double = frame % 2 == 0 ? 0.1 : 0.102
            return (time: Double(frame) / 25, opening: MouthOpening(inner: gap, outer: gap + 0.2))
        }
        let talking: ActiveSpeaker.MouthSeries = (0..<50).map { frame in
            let time = Double(frame) / 25
            let gap: Double = 0.15 + 0.15 * sin(8 * Double.pi * time)
            return (time: time, opening: MouthOpening(inner: gap, outer: gap + 0.2))
        }
        #expect(!ActiveSpeaker.moves(still))
        #expect(ActiveSpeaker.moves(talking))
    }

    /// Syllable-like sound: noise bursts, each with its own pitch band, 4–6 a second (seeded),
    /// 3 s at 16 kHz; and the times of its bursts' centres.
    static func syllables(seed: UInt64) -> (samples: [Float], bands: ActiveSpeaker.SpeechBands) {
        var generator = SplitMix64(seed: seed)
        var samples = [Float](repeating: 0, count: 48000)
        var start = 1600
        while start < 44000 {
            let length = Int.random(in: 1600...3200, using: &generator)
            let frequency = Double.random(in: 200...2500, using: &generator)
            for i in 0..<length where start + i < samples.count {
                let shape = sin(Double.pi * Double(i) / Double(length))
                samples[start + i] = Float(0.3 * shape * sin(2 * Double.pi * frequency * Double(i) / 16000) + 0.01 * gaussian(&generator))
            }
            start += length + Int.random(in: 400...1600, using: &generator)
        }
        return (samples, ActiveSpeaker.SpeechBands(samples: samples[...], sampleRate: 16000, start: 0)!)
    }

    @Test("judge: a mouth that follows the sound spoke, over one a second late; still mouths or none mean no visible speaker; a face seen too briefly is undecided")
    func judge() throws {
        let (_, bands) = Self.syllables(seed: 3)
        var generator = SplitMix64(seed: 11)
        // A mouth opening with the loudness of the low bands, at 25 fps, with landmark noise.
        func speaking(_ times: [Double]) -> ActiveSpeaker.MouthSeries {
            times.map { time in
                let levels = bands.levels(at: time) ?? [-80, -80, -80, -80]
                let open = max(0, (max(levels[0], levels[1]) + 40) / 100) + 0.01 * gaussian(&generator)
                return (time: time, opening: MouthOpening(inner: open, outer: 0.3 + 0.8 * open + 0.01 * gaussian(&generator)))
            }
        }
        let frames = (1..<72).map { Double($0) / 25 }
        let still: ActiveSpeaker.MouthSeries = frames.map { (time: $0, opening: MouthOpening(inner: 0.05, outer: 0.35)) }
        let judged = ActiveSpeaker.judge(mouths: [4: still, 7: speaking(frames)], bands: bands)
        #expect(judged.speaker?.track == 7, "\(judged)")
        #expect(judged.speakerVisible == true)
        let agreements = ActiveSpeaker.agreements(mouths: [7: speaking(frames)], bands: bands)
        let seven = try #require(agreements[7])
        // The same mouth a second late: it moves, but agrees far less.
        let late = speaking(frames).map { (time: $0.time + 1, opening: $0.opening) }.filter { $0.time < 2.9 }
        let lateAgreement = try #require(ActiveSpeaker.agreements(mouths: [7: late], bands: bands)[7])
        #expect(seven.agreement > 0.5 && lateAgreement.agreement < seven.agreement - 0.2, "\(seven) \(lateAgreement)")
        #expect(ActiveSpeaker.judge(mouths: [3: late, 7: speaking(frames)], bands: bands).speaker?.track == 7)
        #expect(ActiveSpeaker.agreements(mouths: [4: still], bands: bands).isEmpty)
        #expect(ActiveSpeaker.judge(mouths: [4: still], bands: bands) == .noVisibleSpeaker)
        #expect(ActiveSpeaker.judge(mouths: [:], bands: bands) == .noVisibleSpeaker)
        #expect(ActiveSpeaker.judge(mouths: [:], bands: bands).speakerVisible == false)
        // A face seen for 5 frames (beside a still one): too briefly to tell.
        #expect(ActiveSpeaker.judge(mouths: [4: still, 7: Array(speaking(frames).prefix(5))], bands: bands) == .undecided)
        // A face in view whose lips could not be measured (no openings) beside a still one.
        #expect(ActiveSpeaker.judge(mouths: [4: still, 9: []], bands: bands) == .undecided)
        #expect(ActiveSpeaker.Judgement.undecided.speakerVisible == nil)
    }
}

/// A standard normal from a seeded generator (Box–Muller).
private func gaussian(_ generator: inout SplitMix64) -> Double {
    let u = max(Double.random(in: 0..<1, using: &generator), 1e-300), v = Double.random(in: 0..<1, using: &generator)
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
}
