import MerdDaemon
import MediaCodec
import ArgumentParser
import CaptureALSA
import CaptureFile
import Foundation
import Logging
import MediaTypes
import StreamEngine

/// `merd segment FILE|alsa:NAME`: one JSON line per utterance, `{"start":s,"end":s}`.
struct Segment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one JSON line per utterance of a file or a live ALSA device: {\"start\":s,\"end\":s}.",
        discussion: """
            Times are seconds from the start of the stream. A live device runs until interrupted. Speech is found \
            by Silero VAD when its model is installed (tools/fetch-default-models), else by its energy.
            """)

    @Argument(help: "A file FFmpeg reads, or alsa:NAME for a capture device.")
    var input: String
    @OptionGroup var modelsOption: ModelsOption
    @OptionGroup var speechDetector: SpeechDetectorOption

    func run() async throws {
        let voiceDetector = try EngineModels.voiceDetector(root: modelsOption.directory, kind: try speechDetector.kind(),
                                                           logger: Logger(label: "merd"))?.0
        var segmenter = EngineStages.segmenters(voiceDetector: voiceDetector, parameters: SegmenterParameters())()
        var resampler: Resampler?
        func emit(_ events: [SegmenterEvent]) {
            for case .utterance(let utterance) in events {
                writeLine(String(format: "{\"start\":%.3f,\"end\":%.3f}", utterance.startSeconds, utterance.endSeconds))
            }
        }
        func feed(_ chunk: AudioChunk) throws {
            if resampler == nil {
                do {
                    resampler = try Resampler(inputRate: chunk.sampleRate, inputChannels: chunk.channels)
                } catch {
                    throw CommandFailure.runtime("\(input): \(error.description)")
                }
            }
            emit(segmenter.process(resampler!.process(chunk)))
        }
        do {
            if input.hasPrefix("alsa:") {
                let capture = ALSACapture(device: String(input.dropFirst(5)))
                for try await chunk in try capture.chunks() { try feed(chunk) }
            } else {
                let reader = try AudioFileReader(path: input)
                while let chunk = try reader.nextChunk() { try feed(chunk) }
            }
        } catch let error as CaptureError {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }
        if let resampler { emit(segmenter.process(resampler.flush())) }
        emit(segmenter.finish())
    }
}
