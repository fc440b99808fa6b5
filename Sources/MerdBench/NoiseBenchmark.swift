import CaptureFile
import FusionTraining
import MediaTypes
import NeuralKit
import StreamEngine

/// How the face pipeline and the segmenter degrade under the MER-NOISE corruptions, on the
/// shared data's real faces and speech (`merd bench noise`; docs/noise.md holds a run's table).
package struct NoiseBenchmark: Sendable {
    /// The shared data folder (grid/, emodb/).
    package let dataFolder: String
    /// Faces: analyse every this many frames.
    package let every: Int
    /// Seed of the corruptions' draws and of the speech corpus's order and gaps.
    package let seed: UInt64

    /// GRID's clip with a known speech span (`swwp2s.align`: 12250–55250 at 25 kHz ticks).
    static let alignedClip = (file: "id2_vcd_swwp2s.mpg", speechStart: 12250 * 16000 / 25000, speechEnd: 55250 * 16000 / 25000)

    package init(dataFolder: String, every: Int = 3, seed: UInt64 = 1) {
        precondition(every >= 1, "every must be 1 or more")
        self.dataFolder = dataFolder
        self.every = every
        self.seed = seed
    }

    // MARK: Faces

    /// One corruption's row of the face table.
    package struct FaceRow: Sendable, Equatable {
        package let corruption: String
        /// Frames whose primary face was good enough to encode.
        package let usable: Int
        package let frames: Int
        /// Mean total-variation distance between the corrupted and the clean frame's
        /// mini-Xception probabilities, over frames where both have them; nil for the clean
        /// row or without mini-Xception.
        package let meanTVDistance: Double?
    }

    package struct FaceResult: Sendable, Equatable {
        package let frames: Int
        package let clips: Int
        /// Clean first, then each corruption.
        package let rows: [FaceRow]
    }

    /// Every `every`-th frame of the GRID clips, detected anew in each (no tracking), clean and
    /// under each corruption.
    package func faces(_ models: VisionModels) throws -> FaceResult {
        let clips = try DataFolder.files(in: dataFolder + "/grid", endingIn: ".mpg")
        var frames: [RGBImage] = []
        for clip in clips { frames += try BenchmarkVideo.frames(dataFolder + "/grid/" + clip, every: every) }
        var options = FacePipeline.Options()
        options.tracking = false
        var random = SplitMix64(seed: seed)
        let cutouts = (0..<frames.count).map { _ in
            ImageCorruption.cutout(fraction: 0.25, x: Double.random(in: 0...1, using: &random), y: Double.random(in: 0...1, using: &random))
        }
        let conditions: [(String, (Int) -> ImageCorruption?)] = [
            ("clean", { _ in nil }), ("solarize (128)", { _ in .solarize(threshold: 128) }),
            ("blur σ 1 px", { _ in .blur(sigma: 1) }), ("blur σ 2 px", { _ in .blur(sigma: 2) }), ("blur σ 3 px", { _ in .blur(sigma: 3) }),
            ("rotate 10°", { _ in .rotate(degrees: 10) }), ("rotate 20°", { _ in .rotate(degrees: 20) }), ("rotate 30°", { _ in .rotate(degrees: 30) }),
            ("cutout 25 % (random place)", { cutouts[$0] }),
        ]
        let encoder = models.encoders.first { $0 is MiniXception }
        var clean: [[Float]?] = []
        var rows: [FaceRow] = []
        for (label, corruption) in conditions {
            var pipeline = models.makePipeline(options: options)
            var usable = 0, distances: [Double] = []
            var probabilities: [[Float]?] = []
            for (i, frame) in frames.enumerated() {
                let image = corruption(i).map { $0.apply(to: frame) } ?? frame
                let face = pipeline.analyze(image).primary
                let probs = encoder.flatMap { face?.encodings[$0.featureName]?.probabilities }
                if face?.encodings.isEmpty == false { usable += 1 }
                probabilities.append(probs)
                if label != "clean", let p = probs, let q = clean[i] {
                    distances.append(0.5 * zip(p, q).map { Double(abs($0 - $1)) }.reduce(0, +))
                }
            }
            if label == "clean" { clean = probabilities }
            rows.append(FaceRow(corruption: label, usable: usable, frames: frames.count,
                                meanTVDistance: distances.isEmpty ? nil : distances.reduce(0, +) / Double(distances.count)))
        }
        return FaceResult(frames: frames.count, clips: clips.count, rows: rows)
    }

    // MARK: Speech

    /// One detector's row of the speech table at one noise level.
    package struct SpeechRow: Sendable {
        /// `energy`, `silero`, or `silero, no level gate`.
        package let detector: String
        /// Speech-to-noise ratio on the speech, dB; nil for the clean signal.
        package let snr: Double?
        package let score: SegmentationScore
        /// The segmenter's time per second of audio, milliseconds (one thread).
        package let millisecondsPerSecond: Double
    }

    package struct SpeechResult: Sendable {
        /// True utterances in the corpus.
        package let utterances: Int
        /// Length of the noise recording (looped), seconds.
        package let noiseSeconds: Double
        /// Per detector (energy, then Silero VAD when given): clean first, then 20, 10 and 5 dB.
        package let rows: [SpeechRow]
    }

    /// The signal-to-noise ratios of the speech table, after the clean signal.
    package static let speechNoiseRatios: [Double] = [20, 10, 5]

    /// EmoDB utterances and the aligned GRID clip with 0.3–2 s gaps, mixed with other EmoDB
    /// speakers (speech noise, as MUSAN's) at each SNR, through the energy segmenter and, given
    /// its model, Silero VAD's.
    package func speech(voiceDetector: SileroVAD? = nil) throws -> SpeechResult {
        let emodb = dataFolder + "/emodb/wav"
        let files = try DataFolder.files(in: emodb, endingIn: ".wav")
        // Speakers 03, 08, 09, 10 talk; speaker 11 is the crowd behind them.
        let talkers = files.filter { !$0.hasPrefix("11") }.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        var pieces: [SegmentationCorpus.Piece] = []
        let grid = try AudioFileReader.decodeMono16k(dataFolder + "/grid/" + Self.alignedClip.file)
        pieces.append(.init(audio: grid, speechStart: Self.alignedClip.speechStart, speechEnd: Self.alignedClip.speechEnd))
        for file in talkers { pieces.append(.init(oracle: try AudioFileReader.decodeMono16k(emodb + "/" + file))) }
        var babble: [Float] = []
        for file in files where file.hasPrefix("11") { babble += try AudioFileReader.decodeMono16k(emodb + "/" + file) }
        let corpus = SegmentationCorpus(pieces: pieces, seed: seed)
        let levels: [Double?] = [nil] + Self.speechNoiseRatios.map(Optional.some)
        let signals = levels.map { snr in snr.map { corpus.withNoise(babble, snr: $0, offset: 4321) } ?? corpus.clean }
        var detectors: [(String, @Sendable () -> any UtteranceSegmenting)] = [("energy", { EnergySegmenter() })]
        if let voiceDetector {
            var ungated = SegmenterParameters()
            ungated.foregroundStartDecibels = .infinity
            ungated.foregroundContinueDecibels = .infinity
            detectors.append(("silero", { SileroSegmenter(model: voiceDetector) }))
            detectors.append(("silero, no level gate", { [ungated] in SileroSegmenter(model: voiceDetector, parameters: ungated) }))
        }
        var rows: [SpeechRow] = []
        for (detector, makeSegmenter) in detectors {
            for (snr, signal) in zip(levels, signals) {
                let clock = ContinuousClock()
                var detected: [Utterance] = []
                let elapsed = clock.measure { detected = SegmentationScore.segment(signal, segmenter: makeSegmenter()) }
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                rows.append(SpeechRow(detector: detector, snr: snr, score: SegmentationScore(detected: detected, truths: corpus.truths),
                                      millisecondsPerSecond: 1000 * seconds / (Double(signal.count) / 16000)))
            }
        }
        return SpeechResult(utterances: corpus.truths.count, noiseSeconds: Double(babble.count) / 16000, rows: rows)
    }

    // MARK: Visual gate

    /// One row of the visual gate's table.
    package struct GateRow: Sendable {
        /// `energy` or `silero`.
        package let detector: String
        /// `off`; `on`; `on, still lips left out` (the utterances the gate labelled still are
        /// dropped, as `engine.require_visible_speaker` drops unseen speakers').
        package let gate: String
        package let snr: Double?
        package let score: SegmentationScore
    }

    package struct GateResult: Sendable {
        package let utterances: Int
        package let clips: Int
        package let noiseSeconds: Double
        /// Per detector, gate off, on, on with still lips left out; each clean, 20, 10, 5 dB.
        package let rows: [GateRow]
    }

    /// GRID's seven talking faces, each `copies` times, with 0.3–2 s gaps, mixed with EmoDB
    /// speaker 11 (off camera) at each SNR, through each detector with and without the visual
    /// gate. The gate sees the clips' own lips, followed as the engine follows them (analysed
    /// at 10 fps, landmarks only in between); between clips, where the subject is silent, the
    /// next clip's frames before its speech, played back and forth.
    package func visualGate(models: VisionModels, voiceDetector: SileroVAD?, copies: Int = 3) throws -> GateResult {
        let clips = try DataFolder.files(in: dataFolder + "/grid", endingIn: ".mpg")
        var pieces: [SegmentationCorpus.Piece] = []
        var lips: [[Double?]] = []
        for clip in clips {
            let path = dataFolder + "/grid/" + clip
            let audio = try AudioFileReader.decodeMono16k(path)
            pieces.append(clip == Self.alignedClip.file
                ? .init(audio: audio, speechStart: Self.alignedClip.speechStart, speechEnd: Self.alignedClip.speechEnd)
                : .init(oracle: audio, decibels: 20, smoothing: 5))
            lips.append(Self.innerGaps(try BenchmarkVideo.frames(path), models: models))
        }
        let corpus = SegmentationCorpus(pieces: Array(repeating: pieces, count: copies).flatMap { $0 }, seed: seed)
        let observations = Self.subjectLips(corpus: corpus, pieces: pieces, gaps: lips)
        let files = try DataFolder.files(in: dataFolder + "/emodb/wav", endingIn: ".wav")
        var babble: [Float] = []
        for file in files where file.hasPrefix("11") { babble += try AudioFileReader.decodeMono16k(dataFolder + "/emodb/wav/" + file) }
        let levels: [Double?] = [nil] + Self.speechNoiseRatios.map(Optional.some)
        let signals = levels.map { snr in snr.map { corpus.withNoise(babble, snr: $0, offset: 4321) } ?? corpus.clean }
        var ungated = SegmenterParameters()
        ungated.visualGate = nil
        var detectors: [(String, @Sendable (SegmenterParameters) -> any UtteranceSegmenting)] = [("energy", { EnergySegmenter(parameters: $0) })]
        if let voiceDetector { detectors.append(("silero", { SileroSegmenter(model: voiceDetector, parameters: $0) })) }
        var rows: [GateRow] = []
        for (detector, make) in detectors {
            for (snr, signal) in zip(levels, signals) {
                let plain = SegmentationScore.segment(signal, segmenter: make(ungated))
                let gated = SegmentationScore.segment(signal, segmenter: make(SegmenterParameters()), lips: observations)
                rows.append(GateRow(detector: detector, gate: "off", snr: snr, score: SegmentationScore(detected: plain, truths: corpus.truths)))
                rows.append(GateRow(detector: detector, gate: "on", snr: snr, score: SegmentationScore(detected: gated, truths: corpus.truths)))
                rows.append(GateRow(detector: detector, gate: "on, still lips left out", snr: snr,
                                    score: SegmentationScore(detected: gated.filter { $0.lips != .still }, truths: corpus.truths)))
            }
        }
        rows.sort { ($0.detector == "energy" ? 0 : 1, $0.gate) < ($1.detector == "energy" ? 0 : 1, $1.gate) }
        return GateResult(utterances: corpus.truths.count, clips: clips.count, noiseSeconds: Double(babble.count) / 16000, rows: rows)
    }

    /// The inner lips' gap of the clip's one face in each frame (25 fps), the engine's way:
    /// analysed every 0.1 s, followed by landmarks between; nil where no face was seen.
    static func innerGaps(_ frames: [RGBImage], models: VisionModels) -> [Double?] {
        var pipeline = models.makePipeline()
        var gaps: [Double?] = []
        var lastAnalysed = -Double.infinity
        for (index, image) in frames.enumerated() {
            let time = Double(index) / 25
            if time - lastAnalysed >= 0.1 - 0.005 {
                lastAnalysed = time
                let face = pipeline.analyze(image, time: time).faces.first
                gaps.append(face.flatMap { MouthOpening.measure($0.observation.landmarks)?.inner })
            } else {
                gaps.append(pipeline.followMouths(image).sorted { $0.key < $1.key }.first?.value.inner)
            }
        }
        return gaps
    }

    /// The subject's lips over the whole corpus at 25 fps: each clip's own where it plays;
    /// in the silence between, the next clip's frames from before its speech (0.15 s clear
    /// of it; or after it, for a clip that speaks from its start), back and forth so that they
    /// end beside its first frame, and eased over 0.4 s from where the last clip's lips were.
    /// A clip that follows another without a gap eases out of its lips the same way. (A jump
    /// between two recordings would read as the subject moving their lips.)
    static func subjectLips(corpus: SegmentationCorpus, pieces: [SegmentationCorpus.Piece], gaps: [[Double?]]) -> [LipObservation] {
        let clipCount = pieces.count
        let still: [[Double]] = pieces.indices.map { index in
            let piece = pieces[index]
            let quiet = gaps[index].enumerated().compactMap { frame, gap -> Double? in
                let sample = frame * 640
                return sample < piece.speechStart - 2400 || sample > piece.speechEnd + 2400 ? gap : nil
            }
            return quiet + quiet.reversed()
        }
        var values: [Double?] = Array(repeating: nil, count: corpus.clean.count / 640)
        var filledUntil = 0
        var last: Double?
        for placed in corpus.placements {
            let clip = placed.piece % clipCount
            let first = min(values.count, (placed.offset + 639) / 640)
            let fill = still[clip]
            let own = gaps[clip]
            if !fill.isEmpty, first > filledUntil {
                let ease = last.map { $0 - fill[(first - filledUntil) % fill.count] } ?? 0
                for frame in filledUntil..<first {
                    let weight = max(0, 1 - Double(frame - filledUntil) / 10)
                    values[frame] = fill[(first - frame) % fill.count] + ease * weight
                }
            }
            // A clip that follows another at once eases out of the other's last lips.
            let ease = first > filledUntil ? 0 : (last.flatMap { last in own.first(where: { $0 != nil }).flatMap { $0 }.map { last - $0 } } ?? 0)
            let end = min(values.count, first + own.count)
            for frame in first..<end { values[frame] = own[frame - first].map { $0 + ease * max(0, 1 - Double(frame - first) / 10) } }
            filledUntil = end
            last = own.last(where: { $0 != nil }) ?? last
        }
        return values.enumerated().compactMap { frame, gap in gap.map { LipObservation(sample: frame * 640, track: 0, gap: $0) } }
    }
}
