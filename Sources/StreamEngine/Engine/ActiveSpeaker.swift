import Foundation
import MediaCodec

/// Which visible face spoke an utterance: the one whose mouth opened and closed with the
/// speech.
///
/// Per track, the mouth of each frame (the inner and outer lips' gaps over the eye distance,
/// from the 68 landmarks, at the camera's rate: `FaceSession.followMouths` between analysed
/// frames) is set against the sound's levels in four frequency bands at that frame's time,
/// shifted by a lag found per track within ±`maximumLag` (a camera's latency against the
/// microphone's). The agreement is the first canonical correlation between the mouth's
/// changes from frame to frame and the bands' (ridge-regularised; the audio-visual
/// correlation of Slaney and Covell's FaceSync). Each choice was measured on every pair of
/// the seven GRID clips side by side, the voice of one (42 utterances; on the clips' own
/// frames sampled as the engine samples them, and through `merd analyze` on H.264 re-encodes
/// with Silero VAD, `SpeakerCommandTests`: 41 of 42):
/// - Changes, not levels: two people saying GRID's sentences open their mouths about as wide
///   at about the same moments, so levels agree for either (10–15 of 24 pairs); only the
///   speaker's openings and closings fall on the sound's rises and falls.
/// - Bands, not one loudness envelope: an opening jaw moves the first formant and the energy
///   between bands as much as the overall level. Against one envelope 39 of 42 were right,
///   the talking face beside often fitting as well as the speaker's own; with the bands 40,
///   with the outer lips as well 42 (smallest margin 0.035), on the clips' frames.
/// - From `leadSeconds` before the utterance: lips part before the sound starts (without
///   the lead, 39–41 of 42 replayed offline).
///
/// A track is a candidate when its mouth moves (`minimumMovement`); the candidate that
/// agrees best spoke, and no candidate means no visible mouth spoke (a television, a person
/// off camera). There is no floor on the agreement: what a mouth moving at random reaches by
/// chance depends on the utterance's length (white noise as the mouth: median 0.35 over 1 s,
/// 0.23 over 2.5 s; GRID's speakers 0.35–0.56), and comparing each mouth with itself shifted
/// out of sync rejected a real speaker (lbax4n, whose rhythm fits its own shifts). So a face
/// that moves its mouth out of time with the speech (chewing, mouthing) while someone unseen
/// talks can be taken for the speaker; its confidence is then low, for readers to judge.
public struct ActiveSpeaker: Sendable, Equatable {
    public let track: Int
    /// The agreement: a canonical correlation, in [0, 1 / (1 + ridge)]; speakers in GRID's
    /// studio clips 0.35–0.56, the other talking face beside them 0.16–0.49.
    public let confidence: Double
    /// The lag that agreed best, seconds (positive: the mouth leads the sound).
    public let lag: Double

    /// What the mouths say about an utterance.
    public enum Judgement: Sendable, Equatable {
        /// This track's mouth moved with the sound.
        case spoke(ActiveSpeaker)
        /// No visible mouth spoke: no face in view, or none moved its mouth.
        case noVisibleSpeaker
        /// No mouth moved, but a face was in view too briefly to tell (fewer than
        /// `minimumFrames` measured frames: glimpsed, or turned so its lips cannot be measured).
        case undecided

        public var speaker: ActiveSpeaker? {
            if case .spoke(let speaker) = self { speaker } else { nil }
        }

        /// Whether a visible face spoke: nil when undecided.
        public var speakerVisible: Bool? {
            switch self {
            case .spoke: true
            case .noVisibleSpeaker: false
            case .undecided: nil
            }
        }
    }

    /// Frames a track needs within the utterance to be judged.
    public static let minimumFrames = 8
    /// A mouth that moves less than this (RMS of its inner gap's change, eye distances per
    /// second) is still: GRID speakers move theirs 0.65–1.3 while they talk, 0.2 (median)
    /// in the silence before; camera noise on a still face moves it by less.
    public static let minimumMovement = 0.4
    /// Lags tried: ±80 ms in 20-ms steps. Wider lets the other face find a shift that fits.
    public static let maximumLag = 0.08
    static let lagSteps = 4
    /// Audio and frames before the utterance's first sample that are judged with it.
    public static let leadSeconds = 0.2
    /// Ridge regularisation: each variable's variance raised by this share of itself. Keeps
    /// six variables on 30–80 frames from fitting noise (0.25 and 1 got the same 41 of 42
    /// through `merd analyze`).
    static let ridge = 0.5
    /// The bands, Hz: the first formant's range, the second's low and high halves, frication.
    public static let bands: [(low: Double, high: Double)] = [(80, 500), (500, 1000), (1000, 2000), (2000, 4000)]

    /// One face's mouth openings in an utterance: (media time, opening) per frame, in time order.
    public typealias MouthSeries = [(time: Double, opening: MouthOpening)]

    /// The sound's levels in `ActiveSpeaker.bands`, dB, one row per `hop` seconds, row `i`
    /// centred at `start + centre + i · hop`.
    public struct SpeechBands: Sendable {
        public let start: Double
        public let hop: Double
        /// Where the first row is centred, seconds after `start`.
        public let centre: Double
        public let rows: [[Double]]

        /// The bands of 16 kHz `samples` beginning at media time `start` (25-ms frames every
        /// 10 ms); nil when libavutil cannot make its transform.
        public init?(samples: ArraySlice<Float>, sampleRate: Int, start: Double) {
            guard let analyser = BandEnergies(bands: ActiveSpeaker.bands, sampleRate: sampleRate) else { return nil }
            self.start = start
            hop = Double(analyser.hop) / Double(sampleRate)
            centre = Double(analyser.window) / 2 / Double(sampleRate)
            rows = analyser.levels(samples)
        }

        /// Rows already made (``SpeechBandsFeed``), row `i` centred at `start + centre + i · hop`.
        init(start: Double, hop: Double, centre: Double, rows: [[Double]]) {
            self.start = start
            self.hop = hop
            self.centre = centre
            self.rows = rows
        }

        /// Media time just after the last row.
        public var end: Double { start + centre + Double(rows.count) * hop }

        /// The levels at media time `time` (linear between rows; nil outside them).
        func levels(at time: Double) -> [Double]? {
            var levels: [Double] = []
            return appendLevels(at: time, to: &levels) ? levels : nil
        }

        /// Appends the levels at media time `time` to `buffer`, as `levels(at:)` gives them;
        /// false (nothing appended) outside the rows.
        func appendLevels(at time: Double, to buffer: inout [Double]) -> Bool {
            let position = (time - start - centre) / hop
            guard !rows.isEmpty, position >= 0, position <= Double(rows.count - 1) else { return false }
            let lower = Int(position), fraction = position - Double(lower)
            guard lower + 1 < rows.count, fraction > 0 else {
                buffer += rows[lower]
                return true
            }
            for (a, b) in zip(rows[lower], rows[lower + 1]) { buffer.append(a * (1 - fraction) + b * fraction) }
            return true
        }
    }

    /// Who spoke, from the mouths (track id → series) over the utterance's bands.
    public static func judge(mouths: [Int: MouthSeries], bands: SpeechBands) -> Judgement {
        judge(agreements: agreements(mouths: mouths, bands: bands), mouths: mouths)
    }

    /// Who spoke, from the moving tracks' `agreements` with the sound and all `mouths` seen.
    public static func judge(agreements judged: [Int: (agreement: Double, lag: Double)], mouths: [Int: MouthSeries]) -> Judgement {
        if let best = judged.max(by: { ($0.value.agreement, -$0.key) < ($1.value.agreement, -$1.key) }) {
            return .spoke(ActiveSpeaker(track: best.key, confidence: best.value.agreement, lag: best.value.lag))
        }
        // No moving mouth: decided only if every face in view was seen long enough to tell.
        return mouths.values.contains { $0.count < minimumFrames } ? .undecided : .noVisibleSpeaker
    }

    /// Each moving track's agreement with the sound, and the lag it agreed best at (tracks
    /// with fewer than `minimumFrames` frames, or a still mouth, are left out).
    public static func agreements(mouths: [Int: MouthSeries], bands: SpeechBands) -> [Int: (agreement: Double, lag: Double)] {
        var result: [Int: (agreement: Double, lag: Double)] = [:]
        for (track, series) in mouths where series.count >= minimumFrames && moves(series) {
            guard let (agreement, lag) = bestOverLags(series.map(\.time), series.map(\.opening.measures), bands) else { continue }
            result[track] = (agreement, lag)
        }
        return result
    }

    /// The best agreement over the lags of mouth measures at `times` with the bands, and its lag.
    ///
    /// In flat row-major buffers reused across the lags: it runs on the latency path, after
    /// the end of speech is confirmed, and arrays per frame and lag cost most of a
    /// millisecond per face.
    static func bestOverLags(_ times: [Double], _ measures: [[Double]], _ bands: SpeechBands) -> (Double, Double)? {
        guard let p = measures.first?.count, let q = bands.rows.first?.count else { return nil }
        var best: (Double, Double)?
        var x: [Double] = [], y: [Double] = [], dx: [Double] = [], dy: [Double] = []
        for step in -lagSteps...lagSteps {
            let lag = maximumLag * Double(step) / Double(lagSteps)
            // The mouth leads: its opening at t goes with the sound at t + lag.
            x.removeAll(keepingCapacity: true)
            y.removeAll(keepingCapacity: true)
            for (time, measure) in zip(times, measures) where bands.appendLevels(at: time + lag, to: &y) { x += measure }
            let count = x.count / p
            guard count >= minimumFrames else { continue }
            // Each point's change from the one before.
            dx.removeAll(keepingCapacity: true)
            dy.removeAll(keepingCapacity: true)
            for row in 1..<count {
                for i in 0..<p { dx.append(x[row * p + i] - x[(row - 1) * p + i]) }
                for j in 0..<q { dy.append(y[row * q + j] - y[(row - 1) * q + j]) }
            }
            guard let r = agreement(Observations(x: dx, y: dy, p: p, q: q)), r > (best?.0 ?? -1) else { continue }
            best = (r, lag)
        }
        return best
    }

    /// Paired vectors as two row-major matrices: `count` rows of `p` x-values and of `q` y-values.
    struct Observations {
        var x: [Double]
        var y: [Double]
        var p: Int
        var q: Int
        var count: Int { p == 0 ? 0 : x.count / p }
    }

    /// Whether the mouth moves at all: RMS of its opening's change per second.
    static func moves(_ series: MouthSeries) -> Bool {
        var sum = 0.0, count = 0
        for (next, previous) in zip(series.dropFirst(), series) where next.time > previous.time {
            let speed = (next.opening.inner - previous.opening.inner) / (next.time - previous.time)
            sum += speed * speed
            count += 1
        }
        return count > 0 && (sum / Double(count)).squareRoot() >= minimumMovement
    }

    /// The first canonical correlation between the vectors x and y, each variable's variance
    /// raised by `ridge` times itself (scale-free per variable): the largest eigenvalue ρ² of
    /// Cxx⁻¹·Cxy·Cyy⁻¹·Cyx, taken as that of the symmetric W·Wᵀ, W = Lx⁻¹·Cxy·Ly⁻ᵀ (C = L·Lᵀ).
    /// A variable that does not vary is left out; x keeps one or two (`MouthOpening`'s), y any
    /// few. Nil when a side has none that varies.
    static func agreement(_ pairs: [(x: [Double], y: [Double])]) -> Double? {
        guard let p = pairs.first?.x.count, let q = pairs.first?.y.count else { return nil }
        return agreement(Observations(x: pairs.flatMap(\.x), y: pairs.flatMap(\.y), p: p, q: q))
    }

    /// ``agreement(_:)`` of observations in flat matrices.
    static func agreement(_ observations: Observations) -> Double? {
        guard observations.count > 1 else { return nil }
        let n = observations.count
        let (xs, p) = varying(observations.x, n, observations.p), (ys, q) = varying(observations.y, n, observations.q)
        guard (1...2).contains(p), q > 0 else { return nil }
        let cxy = covariance(xs, ys, n, p, q)
        guard let lx = cholesky(regularised(covariance(xs, xs, n, p, p), p), p),
              let ly = cholesky(regularised(covariance(ys, ys, n, q, q), q), q) else { return nil }
        // W = Lx⁻¹·Cxy·Ly⁻ᵀ (p × q); ρ² is the largest eigenvalue of W·Wᵀ.
        var w = [Double](repeating: 0, count: p * q)
        for column in 0..<q {
            // Lx⁻¹ on Cxy's column.
            var v = (0..<p).map { cxy[$0 * q + column] }
            forwardSubstitute(lx, &v, p)
            for row in 0..<p { w[row * q + column] = v[row] }
        }
        for row in 0..<p {
            // Ly⁻¹ on W's row (W·Ly⁻ᵀ, transposed).
            var v = Array(w[(row * q)..<((row + 1) * q)])
            forwardSubstitute(ly, &v, q)
            for column in 0..<q { w[row * q + column] = v[column] }
        }
        func dot(_ i: Int, _ j: Int) -> Double { (0..<q).reduce(0) { $0 + w[i * q + $1] * w[j * q + $1] } }
        let largest: Double
        if p == 1 {
            largest = dot(0, 0)
        } else {
            // A symmetric 2 × 2's larger eigenvalue.
            let a = dot(0, 0), d = dot(1, 1), b = dot(0, 1)
            largest = (a + d) / 2 + (((a - d) / 2) * ((a - d) / 2) + b * b).squareRoot()
        }
        return max(0, largest).squareRoot()
    }

    /// Cov(a, b) of `rows` paired vectors, a's of m values and b's of n (row-major
    /// matrices); the result row-major m × n.
    static func covariance(_ a: [Double], _ b: [Double], _ rows: Int, _ m: Int, _ n: Int) -> [Double] {
        let count = Double(rows)
        let meanA = (0..<m).map { i in (0..<rows).reduce(0) { $0 + a[$1 * m + i] } / count }
        let meanB = (0..<n).map { j in (0..<rows).reduce(0) { $0 + b[$1 * n + j] } / count }
        var c = [Double](repeating: 0, count: m * n)
        for row in 0..<rows {
            for i in 0..<m {
                let du = a[row * m + i] - meanA[i]
                for j in 0..<n { c[i * n + j] += du * (b[row * n + j] - meanB[j]) / count }
            }
        }
        return c
    }

    /// `rows` vectors of d values (a row-major matrix) without the components that do not
    /// vary (variance ≤ 1e-12), and how many are left.
    static func varying(_ vectors: [Double], _ rows: Int, _ d: Int) -> ([Double], Int) {
        let count = Double(rows)
        let kept = (0..<d).filter { i in
            let mean = (0..<rows).reduce(0) { $0 + vectors[$1 * d + i] } / count
            return (0..<rows).reduce(0) { $0 + (vectors[$1 * d + i] - mean) * (vectors[$1 * d + i] - mean) } / count > 1e-12
        }
        guard kept.count < d else { return (vectors, d) }
        var result: [Double] = []
        result.reserveCapacity(rows * kept.count)
        for row in 0..<rows { for i in kept { result.append(vectors[row * d + i]) } }
        return (result, kept.count)
    }

    /// C with its diagonal raised by λ times itself.
    static func regularised(_ c: [Double], _ d: Int) -> [Double] {
        var result = c
        for i in 0..<d { result[i * d + i] *= 1 + ridge }
        return result
    }

    /// The lower Cholesky factor of a symmetric positive definite d × d matrix (d a few), or
    /// nil when it is not (a side that does not vary).
    static func cholesky(_ a: [Double], _ d: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var sum = a[i * d + j]
                for k in 0..<j { sum -= l[i * d + k] * l[j * d + k] }
                if i == j {
                    guard sum > 1e-12 else { return nil }
                    l[i * d + i] = sum.squareRoot()
                } else {
                    l[i * d + j] = sum / l[j * d + j]
                }
            }
        }
        return l
    }

    /// v ← L⁻¹·v for a lower-triangular L.
    static func forwardSubstitute(_ l: [Double], _ v: inout [Double], _ d: Int) {
        for i in 0..<d {
            for k in 0..<i { v[i] -= l[i * d + k] * v[k] }
            v[i] /= l[i * d + i]
        }
    }
}
