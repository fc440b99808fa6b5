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
}
