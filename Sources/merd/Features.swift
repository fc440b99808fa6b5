import MerdDaemon
import MediaCodec
import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd features …`: the paper's features of recorded files, as safetensors.
struct Features: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract features from recorded files.",
        subcommands: [FeaturesAudio.self, FeaturesVideo.self])
}

struct FeaturesAudio: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "HuBERT hidden states of an audio file, one tensor per layer (layer18, …).",
        discussion: """
            Decodes any file FFmpeg reads, resamples it to 16 kHz mono, and writes each requested \
            hidden state: [D] mean-pooled over the frames (--pool mean) or [T, D] per frame (--pool none).
            """)

    enum Pooling: String, ExpressibleByArgument, CaseIterable {
        case mean, none
    }

    @Option(help: "HuBERT model directory (config.json, model.safetensors or pytorch_model.bin).")
    var model: String

    @Option(help: "Hidden states to write, comma-separated (0 is the transformer's input).")
    var layers: String = "18,19,20"

    @Option(help: "mean: one vector per layer; none: one per frame.")
    var pool: Pooling = .mean

    @Option(help: "Compute threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Argument(help: "The audio or video file.")
    var input: String

    @Option(help: "The safetensors file to write.")
    var out: String

    func run() async throws {
        let layerList = try CommaSeparated.layers(layers)
        guard threads > 0 else { throw CommandFailure.usage("--threads must be positive") }
        ComputeThreads.configure(threads)

        let encoder: HuBERT
        do {
            encoder = try HuBERT(directory: model, highestLayer: layerList.max())
        } catch {
            switch error {
            case .missingFile, .layerOutOfRange, .invalidConfiguration, .unsupportedConfiguration:
                throw CommandFailure.usage(error.description)
            default:
                throw CommandFailure.runtime(error.description)
            }
        }
        let audio: [Float]
        do {
            audio = try AudioFileReader.decodeMono16k(input)
        } catch {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }

        let states: [Int: Tensor]
        do {
            states = pool == .mean
                ? try encoder.pooledHiddenStates(audio: audio, layers: layerList)
                : try encoder.hiddenStates(audio: audio, layers: layerList)
        } catch {
            throw CommandFailure.runtime("\(input): \(error.description)")
        }
        let metadata = [
            "source": input, "model": model, "pool": pool.rawValue, "samples_16k": "\(audio.count)",
            "frames": "\(encoder.configuration.frameCount(samples: audio.count))", "generator": "merd \(MerdVersion.string)",
        ]
        do {
            try SafeTensorsWriter.write(layerList.map { (name: "layer\($0)", tensor: states[$0]!) }, metadata: metadata, to: out)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
    }
}
