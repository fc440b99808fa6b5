import ArgumentParser
import Foundation
import Logging
import MerdDaemon
import MediaTypes
import MerdBench
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
        print(MachineDescription.current())
        guard every >= 1 else { throw CommandFailure.usage("--every must be 1 or more") }
        let visual: VisionModels
        do { visual = try VisionModels(directory: modelsOption.directory) } catch { throw CommandFailure.usage(error.description) }
        let benchmark = NoiseBenchmark(dataFolder: data, every: every, seed: seed)
        do {
            print(table(try benchmark.faces(visual)))
            let voiceDetector = try EngineModels.voiceDetector(root: modelsOption.directory, kind: nil, logger: Logger(label: "merd"))?.0
            print(table(try benchmark.speech(voiceDetector: voiceDetector)))
            print(Self.table(try benchmark.visualGate(models: visual, voiceDetector: voiceDetector)))
        } catch let error as CaptureError {
            throw CommandFailure.input(error)
        } catch let error as BenchmarkError {
            throw CommandFailure.usage(error.description)
        }
    }

    private func table(_ result: NoiseBenchmark.FaceResult) -> String {
        var lines = ["Faces: \(result.frames) GRID frames (\(result.clips) clips, every \(every)th frame), detected anew in each\n",
                     "| corruption | frames with a usable face | mean TV distance of FER probabilities to clean |",
                     "|---|---|---|"]
        for row in result.rows {
            let tv = row.meanTVDistance.map { String(format: "%.3f", $0) } ?? "—"
            lines.append(String(format: "| %@ | %.1f %% (%d/%d) | %@ |", row.corruption, 100 * Double(row.usable) / Double(row.frames),
                                row.usable, row.frames, tv))
        }
        return lines.joined(separator: "\n")
    }

    private func table(_ result: NoiseBenchmark.SpeechResult) -> String {
        var lines = ["\nSpeech: \(result.utterances) utterances (EmoDB speakers 03–10 and GRID), speech noise of EmoDB speaker 11 (\(String(format: "%.0f", result.noiseSeconds)) s, looped)\n",
                     "| detector | speech noise | found | missed | false | median boundary error | p90 | time per s of audio |",
                     "|---|---|---|---|---|---|---|---|"]
        for row in result.rows {
            let score = row.score
            lines.append(String(format: "| %@ | %@ | %d | %d | %d | %.0f ms | %.0f ms | %.2f ms |", row.detector,
                                row.snr.map { String(format: "%g dB", $0) } ?? "none",
                                score.found, score.missed, score.falseAlarms, score.percentile(0.5), score.percentile(0.9), row.millisecondsPerSecond))
        }
        return lines.joined(separator: "\n")
    }

    static func table(_ result: NoiseBenchmark.GateResult) -> String {
        var lines = ["\nVisual gate: \(result.utterances) utterances (GRID's \(result.clips) talking faces, each \(result.utterances / max(result.clips, 1)) times), speech noise of EmoDB speaker 11 off camera\n",
                     "| detector | visual gate | speech noise | found | missed | false | median boundary error | p90 |",
                     "|---|---|---|---|---|---|---|---|"]
        for row in result.rows {
            let score = row.score
            lines.append(String(format: "| %@ | %@ | %@ | %d | %d | %d | %.0f ms | %.0f ms |", row.detector, row.gate,
                                row.snr.map { String(format: "%g dB", $0) } ?? "none",
                                score.found, score.missed, score.falseAlarms, score.percentile(0.5), score.percentile(0.9)))
        }
        return lines.joined(separator: "\n")
    }
}
