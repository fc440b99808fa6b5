import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd features video`: a fusion dataset from media files, one row per clip.
struct FeaturesVideo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "A fusion feature dataset from media files: one row per clip, one tensor per input (HL18 … MX, RF, MR).",
        discussion: """
            Audio: HuBERT hidden states (--layers) mean-pooled over the clip, tensors HL<k>, when a HuBERT \
            model is in the models directory (hubert-large or chinese-hubert-large) or given by --hubert. \
            Faces: every --every-th frame through the face pipeline, each installed encoder's embedding \
            averaged over the frames with a usable face (MX mini-Xception, RF ResNet-50, MR MA-Net); a clip \
            without one gets zeros, as the MER 2023 baseline does, and is named on stderr. With --labels, \
            rows follow the CSV (clips matched by file name without extension); otherwise the inputs' order.
            """)

    @Option(help: "Models directory (default: $MERD_MODELS, /var/lib/merd/models, ~/.local/share/merd/models).")
    var models: String?

    @Option(help: "A HuBERT model directory (default: hubert-large or chinese-hubert-large in the models directory).")
    var hubert: String?

    @Option(help: "HuBERT hidden states to pool, comma-separated.")
    var layers: String = "18,19,20"

    @Option(help: "Analyse every Nth video frame.")
    var every = 1

    @Option(help: "A MER 2023 labels CSV (name,discrete,valence) that orders the rows.")
    var labels: String?

    @Option(help: "The safetensors file to write.")
    var out: String

    @Argument(help: "Media files, one per clip.")
    var inputs: [String]

    func validate() throws {
        guard every >= 1 else { throw ValidationError("--every must be 1 or more") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one media file") }
    }

    func run() async throws {
        let layerList = layers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !layerList.isEmpty else { throw CommandFailure.usage("--layers takes whole numbers, e.g. 18,19,20") }
        let root = ModelsDirectory.resolve(models)
        let speech = try loadHuBERT(root: root, highest: layerList.max()!)
        var visual: VisionModels?
        if VisionModels.available(in: root) {
            do { visual = try VisionModels(directory: root) } catch { throw CommandFailure.usage(error.description) }
        }
        guard speech != nil || visual != nil else {
            throw CommandFailure.usage("\(root) holds neither a HuBERT model nor the visual models; see `merd models fetch hubert-large` and tools/fetch-default-models")
        }
        let order = try clipOrder()
        var rows: [String: [[Float]]] = [:]
        var missingFaces: [String] = []
        for (name, path) in order {
            let clip = try extract(path, speech: speech, visual: visual, layers: layerList)
            for (feature, values) in clip.features { rows[feature, default: []].append(values) }
            if visual != nil && clip.faceFrames == 0 { missingFaces.append(name) }
            writeError("merd: \(name): \(clip.faceFrames) face frames, \(clip.missingFrames) without a usable face")
        }
        // Zeros for a clip without faces, sized like the clips that had them.
        var tensors: [(name: String, tensor: Tensor)] = []
        for feature in rows.keys.sorted() {
            let values = rows[feature]!
            guard let size = values.first(where: { !$0.isEmpty })?.count else { continue }
            let matrix = values.flatMap { $0.isEmpty ? [Float](repeating: 0, count: size) : $0 }
            tensors.append((feature, Tensor(shape: [order.count, size], scalars: matrix)))
        }
        if !missingFaces.isEmpty { writeError("merd: no usable face in \(missingFaces.joined(separator: ", ")): their visual rows are zeros") }
        let metadata = ["clips": order.map(\.name).joined(separator: ","), "layers": layerList.map(String.init).joined(separator: ","),
                        "every": "\(every)", "generator": "merd \(MerdVersion.string)"]
        do {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: out)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
    }

    /// (clip name, file) in row order.
    private func clipOrder() throws -> [(name: String, path: String)] {
        let byName = Dictionary(inputs.map { (URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent, $0) },
                                uniquingKeysWith: { first, _ in first })
        guard let labels else { return inputs.map { (URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent, $0) } }
        guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else { throw CommandFailure.usage("\(labels): cannot read the labels CSV") }
        let names = text.split(whereSeparator: \.isNewline).dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) }
        let missing = names.filter { byName[$0] == nil }
        guard missing.isEmpty else {
            throw CommandFailure.usage("\(labels) names \(missing.count) clip(s) not among the inputs: \(missing.prefix(5).joined(separator: ", "))")
        }
        return names.map { ($0, byName[$0]!) }
    }

    private func loadHuBERT(root: String, highest: Int) throws -> HuBERT? {
        let candidates = hubert.map { [$0] } ?? ["hubert-large", "chinese-hubert-large"].map { root + "/" + $0 }
        guard let directory = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/config.json") }) else {
            if let hubert { throw CommandFailure.usage("\(hubert): not a HuBERT model directory (no config.json)") }
            return nil
        }
        do { return try HuBERT(directory: directory, highestLayer: highest) } catch { throw CommandFailure.usage(error.description) }
    }

    /// The file's video, or nil for an audio-only clip (no faces: zero rows).
    static func videoReader(_ path: String) throws(CaptureError) -> VideoFileReader? {
        do {
            return try VideoFileReader(path: path)
        } catch {
            if case .unsupportedFormat(_, let detail) = error, detail == "no video stream" { return nil }
            throw error
        }
    }

    struct ClipFeatures {
        var features: [String: [Float]] = [:]
        var faceFrames = 0
        var missingFrames = 0
    }

    private func extract(_ path: String, speech: HuBERT?, visual: VisionModels?, layers: [Int]) throws -> ClipFeatures {
        var clip = ClipFeatures()
        do {
            if let speech {
                let reader = try AudioFileReader(path: path)
                let resampler = try Resampler(inputRate: reader.sampleRate, inputChannels: reader.channels)
                var samples: [Float] = []
                while let chunk = try reader.nextChunk() { samples += resampler.process(chunk) }
                samples += resampler.flush()
                let pooled = try speech.pooledHiddenStates(audio: samples, layers: layers)
                for (layer, tensor) in pooled { clip.features["HL\(layer)"] = tensor.scalars }
            }
            if let visual {
                var pipeline = visual.makePipeline()
                var mean = FaceFeatureMean()
                let reader = try Self.videoReader(path)
                var index = 0
                while let frame = try reader?.nextFrame() {
                    defer { index += 1 }
                    guard index % every == 0, let image = RGBImage(frame) else { continue }
                    mean.add(pipeline.analyze(image))
                }
                for encoder in visual.encoders { clip.features[encoder.featureName] = mean.means[encoder.featureName] ?? [] }
                (clip.faceFrames, clip.missingFrames) = (mean.faceFrames, mean.missingFrames)
            }
        } catch let error as CaptureError {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        } catch let error as HuBERTError {
            throw CommandFailure.runtime("\(path): \(error.description)")
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure.runtime("\(path): \(error)")
        }
        return clip
    }
}
