import FusionTraining
import ArgumentParser
import CaptureFile
import Foundation
import NeuralKit
import MediaTypes
import StreamEngine

/// `merd bench noise`: how the face pipeline and the segmenter degrade under the MER-NOISE
/// corruptions, on the shared data's real faces and speech (docs/noise.md holds a run's table).
struct BenchNoise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise",
        abstract: "Measure the face pipeline and the segmenter under image corruptions and speech noise (markdown tables).",
        discussion: """
            Faces: every --every-th frame of the GRID clips, detected anew in each (no tracking), clean and under \
            each corruption; reported: the share of frames with a usable face and the mean total-variation distance \
            between the corrupted and the clean frame's mini-Xception probabilities. Speech: EmoDB utterances and the \
            aligned GRID clip with 0.3–2 s gaps, mixed with other EmoDB speakers (speech noise, as MUSAN's) at each \
            SNR; reported: utterances found, missed, false, and boundary errors.
            """)

    @Option(help: "The shared data folder (grid/, emodb/).")
    var data: String = "../shared/data"

    @OptionGroup var modelsOption: ModelsOption

    @Option(help: "Analyse every Nth frame.")
    var every = 3

    @Option(help: "Seed of the corruptions' draws.")
    var seed: UInt64 = 1

    func run() async throws {
        guard every >= 1 else { throw CommandFailure.usage("--every must be 1 or more") }
        let visual: VisionModels
        do { visual = try VisionModels(directory: modelsOption.directory) } catch { throw CommandFailure.usage(error.description) }
        try faces(visual)
        try speech()
    }

    private func faces(_ visual: VisionModels) throws {
        let clips = try FileManager.default.contentsOfDirectory(atPath: data + "/grid").filter { $0.hasSuffix(".mpg") }.sorted()
        var frames: [RGBImage] = []
        for clip in clips {
            let reader = try VideoFileReader(path: data + "/grid/" + clip)
            var index = 0
            while let frame = try reader.nextFrame() {
                if index % every == 0, let image = RGBImage(frame) { frames.append(image) }
                index += 1
            }
        }
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
        let encoder = visual.encoders.first { $0 is MiniXception }
        var clean: [[Float]?] = []
        print("Faces: \(frames.count) GRID frames (\(clips.count) clips, every \(every)th frame), detected anew in each\n")
        print("| corruption | frames with a usable face | mean TV distance of FER probabilities to clean |")
        print("|---|---|---|")
        for (label, corruption) in conditions {
            var pipeline = visual.makePipeline(options: options)
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
            let tv = distances.isEmpty ? "—" : String(format: "%.3f", distances.reduce(0, +) / Double(distances.count))
            print(String(format: "| %@ | %.1f %% (%d/%d) | %@ |", label, 100 * Double(usable) / Double(frames.count), usable, frames.count, tv))
        }
    }

    private func speech() throws {
        let emodb = data + "/emodb/wav"
        let files = try FileManager.default.contentsOfDirectory(atPath: emodb).filter { $0.hasSuffix(".wav") }.sorted()
        // Speakers 03, 08, 09, 10 talk; speaker 11 is the crowd behind them.
        let talkers = files.filter { !$0.hasPrefix("11") }.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        var pieces: [SegmentationCorpus.Piece] = []
        let grid = try ClipFeatureExtractor.audio(data + "/grid/id2_vcd_swwp2s.mpg")
        pieces.append(.init(audio: grid, speechStart: 12250 * 16000 / 25000, speechEnd: 55250 * 16000 / 25000))
        for file in talkers { pieces.append(.init(oracle: try ClipFeatureExtractor.audio(emodb + "/" + file))) }
        var babble: [Float] = []
        for file in files where file.hasPrefix("11") { babble += try ClipFeatureExtractor.audio(emodb + "/" + file) }
        let corpus = SegmentationCorpus(pieces: pieces, seed: seed)
        print("\nSpeech: \(corpus.truths.count) utterances (EmoDB speakers 03–10 and GRID), speech noise of EmoDB speaker 11 (\(String(format: "%.0f", Double(babble.count) / 16000)) s, looped)\n")
        print("| speech noise | found | missed | false | median boundary error | p90 |")
        print("|---|---|---|---|---|---|")
        for snr in [nil, 20.0, 10.0, 5.0] as [Double?] {
            let signal = snr.map { corpus.withNoise(babble, snr: $0, offset: 4321) } ?? corpus.clean
            let score = SegmentationScore(detected: SegmentationScore.segment(signal), truths: corpus.truths)
            print(String(format: "| %@ | %d | %d | %d | %.0f ms | %.0f ms |", snr.map { String(format: "%g dB", $0) } ?? "none",
                         score.found, score.missed, score.falseAlarms, score.percentile(0.5), score.percentile(0.9)))
        }
    }
}
