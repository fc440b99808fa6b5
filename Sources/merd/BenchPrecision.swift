import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes
import MerdBench
import NeuralKit
import StreamEngine

/// `merd bench precision`: what BF16 does to merd's numbers, against F32 on the same input —
/// HuBERT's pooled hidden states on real speech, the face encoders' class probabilities on
/// the faces of a video. A report, not a test: the figures go in the closing note and
/// docs/operations.md.
struct BenchPrecision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precision",
        abstract: "BF16 against F32 on the same input: HuBERT pooled layers (cosine, max error), face probabilities (total variation).",
        discussion: """
            Both precisions run on oneDNN; BF16 needs a CPU with AVX512_BF16 or AMX. Speech: EmoDB recordings \
            from DATA/emodb/wav. Faces: every frame of --video; the installed face encoders, and EmotiEffLib's \
            B0 with random weights when emotiefflib-enet-b0-va is not installed.
            """)

    @OptionGroup var modelsOption: ModelsOption

    @Option(help: "HuBERT model directory (default: hubert-large in the models directory).")
    var hubert: String?

    @Option(help: "The data folder (emodb/wav for speech).")
    var data: String = "../shared/data"

    @Option(help: "How many EmoDB recordings, in file-name order.")
    var recordings: Int = 10

    @Option(help: "HuBERT layers pooled per recording, comma-separated.")
    var layers: String = "18,19,20"

    @Option(help: "A video whose faces the encoders read.")
    var video: String = "../shared/data/grid/bbaf2n.mpg"

    @Option(help: "Compute threads (oneDNN's OpenMP and OpenBLAS).")
    var threads: Int = 2

    func run() async throws {
        print(MachineDescription.current())
        let layers = try CommaSeparated.layers(layers)
        guard recordings > 0, threads > 0 else { throw CommandFailure.usage("--recordings and --threads take positive whole numbers") }
        if let reason = ComputePrecision.bf16Unavailability { throw CommandFailure.usage("BF16 is not available here: \(reason)") }
        ComputeThreads.configure(threads)
        try speech(layers: layers)
        try faces()
    }

    private func speech(layers: [Int]) throws {
        let directory = hubert ?? modelsOption.directory + "/hubert-large"
        let pair: (HuBERT, HuBERT)
        do {
            pair = (try Compute.withSettings(.oneDNN) { try HuBERT(directory: directory, highestLayer: layers.max()) },
                    try Compute.withSettings(.oneDNNBF16) { try HuBERT(directory: directory, highestLayer: layers.max()) })
        } catch let error as HuBERTError {
            throw CommandFailure(message: error.description, status: { if case .missingFile = error { return .usage }; return .runtime }())
        }
        let folder = data + "/emodb/wav"
        let files: [String]
        do { files = Array(try DataFolder.files(in: folder, endingIn: ".wav").prefix(recordings)) } catch { throw CommandFailure.usage(error.description) }
        guard !files.isEmpty else { throw CommandFailure.usage("no .wav files in \(folder)") }
        var audio: [(name: String, audio: [Float])] = []
        for file in files {
            do { audio.append((file, pair.0.inputValues(try AudioFileReader.decodeMono16k(folder + "/" + file)))) } catch { throw CommandFailure.input(error) }
        }
        let seconds = audio.reduce(0) { $0 + Double($1.audio.count) / 16000 }
        print("merd precision: HuBERT \(directory) (\(pair.0.hiddenLayers) layers), \(audio.count) EmoDB recordings, \(String(format: "%.1f", seconds)) s; "
              + "kernels F32: \(pair.0.kernels(frames: 100).map { "\($0.part) \($0.kernel)" }.joined(separator: ", ")); "
              + "BF16: \(pair.1.kernels(frames: 100).map { "\($0.part) \($0.kernel)" }.joined(separator: ", "))")
        let results: [PrecisionComparison.SpeechResult]
        do { results = try PrecisionComparison.speech(f32: pair.0, bf16: pair.1, recordings: audio, layers: layers) } catch { throw CommandFailure.runtime(error.description) }
        for layer in layers {
            let rows = results.filter { $0.layer == layer }
            let cosines = rows.map(\.cosine)
            print(String(format: "merd precision speech layer %d pooled: cosine to F32 min %.6f, mean %.6f; max |error| / max |F32| %.4f",
                         layer, cosines.min() ?? 0, cosines.reduce(0, +) / Double(max(1, cosines.count)), rows.map(\.relativeMaxError).max() ?? 0))
        }
    }

    private func faces() throws {
        let loaded: (VisionModels, VisionModels)
        do {
            loaded = (try Compute.withSettings(.oneDNN) { try VisionModels(directory: modelsOption.directory) },
                      try Compute.withSettings(.oneDNNBF16) { try VisionModels(directory: modelsOption.directory) })
        } catch let error as VisionModelError {
            throw CommandFailure.usage(error.description)
        }
        var pairs: [(name: String, f32: any FaceEncoder, bf16: any FaceEncoder)] = zip(loaded.0.encoders, loaded.1.encoders).map {
            ("\(type(of: $0.0)) (\($0.0.featureName), installed)", $0.0, $0.1)
        }
        if !pairs.contains(where: { $0.f32.featureName == "EN" }) {
            let random: [EmotiEffLibEncoder]
            do { random = try RandomFaceEncoders.emotiEffLibB0(loadedWith: [.oneDNN, .oneDNNBF16]) } catch { throw CommandFailure.runtime(error.description) }
            pairs.append(("EmotiEffLibEncoder (EN, random weights)", random[0], random[1]))
        }
        let frames: [RGBImage]
        do { frames = try BenchmarkVideo.frames(video) } catch { throw CommandFailure.input(error) }
        let results = PrecisionComparison.faces(pipeline: loaded.0.makePipeline(), pairs: pairs, frames: frames)
        print("merd precision: faces of \(frames.count) frames of \(video)")
        for result in results {
            print(String(format: "merd precision faces %@: %d faces, total-variation distance to F32 mean %.5f, max %.5f; top class changed on %d",
                         result.encoder, result.faces, result.meanDistance, result.maxDistance, result.changedTopClass))
        }
    }
}
