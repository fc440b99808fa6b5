import NeuralKit
import Foundation
import StreamEngine

/// A long test signal for the segmenter: real utterances separated by silences of 0.3–2 s,
/// with the true speech boundaries of each, to which noise can be added at an SNR measured on
/// the speech. Tests and `merd bench noise` build it from the shared data.
public struct SegmentationCorpus: Sendable {
    public struct Truth: Sendable, Equatable {
        public let start: Int
        public let end: Int
    }

    /// One recording and the speech inside it (samples at 16 kHz).
    public struct Piece: Sendable {
        public var audio: [Float]
        public var speechStart: Int
        public var speechEnd: Int

        public init(audio: [Float], speechStart: Int, speechEnd: Int) {
            self.audio = audio
            self.speechStart = speechStart
            self.speechEnd = speechEnd
        }

        /// A recording whose file carries no timing: speech runs from the first to the last
        /// 10 ms frame within `decibels` of the loudest, frames' power averaged over
        /// `smoothing` frames (a studio's quiet room: 35 dB, one frame; GRID's hiss, a
        /// 20-dB range over 50 ms, which puts its aligned clip within 60 ms of its labels).
        public init(oracle audio: [Float], decibels: Double = 35, smoothing: Int = 1) {
            let frames = audio.count / 160
            let powers = (0..<frames).map { f in audio[(f * 160)..<((f + 1) * 160)].map { Double($0 * $0) }.reduce(0, +) / 160 }
            let energies = (0..<frames).map { f in
                let span = max(0, f - smoothing / 2)...min(frames - 1, f + smoothing / 2)
                return 10 * log10(powers[span].reduce(0, +) / Double(span.count) + 1e-12)
            }
            let threshold = (energies.max() ?? 0) - decibels
            let first = energies.firstIndex { $0 > threshold } ?? 0, last = energies.lastIndex { $0 > threshold } ?? max(frames - 1, 0)
            self.init(audio: audio, speechStart: first * 160, speechEnd: (last + 1) * 160)
        }
    }

    public let clean: [Float]
    public let truths: [Truth]
    /// Where each piece went, in the signal's order: its index among the pieces given and
    /// its first sample in the signal.
    public let placements: [(piece: Int, offset: Int)]

    /// The pieces in a seeded random order, each after a silence of 0.3–2 s, then 1 s of silence.
    public init(pieces: [Piece], seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var order = Array(pieces.indices)
        order.shuffle(using: &random)
        var signal: [Float] = []
        var truths: [Truth] = []
        var placements: [(piece: Int, offset: Int)] = []
        for index in order {
            let piece = pieces[index]
            let previousEnd = truths.last?.end ?? 0
            let gap = Int.random(in: 4800...32000, using: &random)
            let offset = max(signal.count, previousEnd + gap - piece.speechStart)
            signal += [Float](repeating: 0, count: offset - signal.count)
            signal += piece.audio
            truths.append(Truth(start: offset + piece.speechStart, end: offset + piece.speechEnd))
            placements.append((index, offset))
        }
        signal += [Float](repeating: 0, count: 16000)
        clean = signal
        self.truths = truths
        self.placements = placements
    }

    var speechRanges: [Range<Int>] { truths.map { $0.start..<$0.end } }

    /// The signal with white Gaussian noise at `snr` dB below the speech's mean power.
    public func withWhiteNoise(snr: Double?, seed: UInt64) -> [Float] {
        guard let snr else { return clean }
        let deviation = (NoiseMixer.power(clean, over: speechRanges) / pow(10, snr / 10)).squareRoot()
        var random = SplitMix64(seed: seed)
        return clean.map { x in
            // Box–Muller.
            let u = Double.random(in: Double.ulpOfOne..<1, using: &random), v = Double.random(in: 0..<1, using: &random)
            return x + Float(deviation * (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
        }
    }

    /// The signal with a noise recording (looped) at `snr` dB below the speech.
    public func withNoise(_ noise: [Float], snr: Double, offset: Int = 0) -> [Float] {
        NoiseMixer.mix(speech: clean, noise: noise, snr: snr, ranges: speechRanges, offset: offset).mixed
    }
}

/// How detected utterances compare with the truth: each true utterance matched to the
/// unused detection that overlaps it most.
public struct SegmentationScore: Sendable {
    public var found = 0, missed = 0, falseAlarms = 0
    public var boundaryErrorsMilliseconds: [Double] = []
    /// Detected minus true, per boundary kind (negative: early).
    public var signedStart: [Double] = [], signedEnd: [Double] = []

    public init(detected: [Utterance], truths: [SegmentationCorpus.Truth]) {
        var used = Set<Int>()
        for truth in truths {
            let overlaps = detected.enumerated().map { i, d in (i, min(d.endSample, truth.end) - max(d.startSample, truth.start)) }
            guard let best = overlaps.filter({ $0.1 > 0 && !used.contains($0.0) }).max(by: { $0.1 < $1.1 }) else {
                missed += 1
                continue
            }
            used.insert(best.0)
            found += 1
            boundaryErrorsMilliseconds.append(Double(abs(detected[best.0].startSample - truth.start)) / 16)
            boundaryErrorsMilliseconds.append(Double(abs(detected[best.0].endSample - truth.end)) / 16)
            signedStart.append(Double(detected[best.0].startSample - truth.start) / 16)
            signedEnd.append(Double(detected[best.0].endSample - truth.end) / 16)
        }
        falseAlarms = detected.count - used.count
    }

    public func percentile(_ p: Double) -> Double {
        let sorted = boundaryErrorsMilliseconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    /// The utterances the energy segmenter finds in `signal`, fed in 20 ms chunks.
    public static func segment(_ signal: [Float], parameters: SegmenterParameters = SegmenterParameters(), chunk: Int = 320) -> [Utterance] {
        segment(signal, segmenter: EnergySegmenter(parameters: parameters), chunk: chunk)
    }

    /// The utterances `segmenter` finds in `signal`, fed in 20 ms chunks, each after the
    /// `lips` (sorted by sample) seen up to its end, as the engine offline has them.
    public static func segment(_ signal: [Float], segmenter: some UtteranceSegmenting, lips: [LipObservation] = [], chunk: Int = 320) -> [Utterance] {
        var segmenter = segmenter
        var events: [SegmenterEvent] = []
        var nextLip = lips.startIndex
        for start in stride(from: 0, to: signal.count, by: chunk) {
            let end = min(start + chunk, signal.count)
            let seen = lips[nextLip...].prefix { $0.sample < end }
            if !seen.isEmpty { segmenter.observeLips(Array(seen)) }
            nextLip += seen.count
            events += segmenter.process(Array(signal[start..<end]))
        }
        events += segmenter.finish()
        return events.compactMap { if case .utterance(let u) = $0 { return u } else { return nil } }
    }
}
