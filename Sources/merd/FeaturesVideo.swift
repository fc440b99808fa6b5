import FusionTraining
import MerdDaemon
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

    @OptionGroup var modelsOption: ModelsOption

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

    @Option(help: "Corrupted copies per clip: audio-snr=LO:HI (speech noise at LO…HI dB) and/or image=NAME,… (solarize, blur, rotate, cutout), e.g. audio-snr=5:11,image=solarize,blur,rotate,cutout.")
    var augment: String?

    @Option(help: "Corrupted copies per clip, with --augment; named CLIP#aug1, CLIP#aug2, … after the clip.")
    var copies = 1

    @Option(name: .customLong("noise-dir"), help: "Noise recordings for audio-snr (any files FFmpeg reads, e.g. MUSAN speech).")
    var noiseDirectory: String?

    @Option(help: "Seed of the augmentation's draws.")
    var seed: UInt64 = 1

    @Option(name: .customLong("labels-out"), help: "With --augment and --labels: the labels CSV of the augmented rows (default: OUT with .labels.csv).")
    var labelsOut: String?

    @Argument(help: "Media files, one per clip.")
    var inputs: [String]

    func validate() throws {
        guard every >= 1 else { throw ValidationError("--every must be 1 or more") }
        guard copies >= 1 else { throw ValidationError("--copies must be 1 or more") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one media file") }
    }

    func run() async throws {
        let layerList = try CommaSeparated.layers(layers)
        let root = modelsOption.directory
        let speech = try EngineModels.speechModel(root: root, explicit: hubert, highestLayer: layerList.max()!)?.0
        var visual: VisionModels?
        if VisionModels.available(in: root) {
            do { visual = try VisionModels(directory: root) } catch { throw CommandFailure.usage(error.description) }
        }
        guard speech != nil || visual != nil else {
            throw CommandFailure.usage("\(root) holds neither a HuBERT model nor the visual models; see `merd models fetch hubert-large` and tools/fetch-default-models")
        }
        var plan: AugmentationPlan?
        if let augment {
            do { plan = try AugmentationPlan(parsing: augment) } catch { throw CommandFailure.usage(error.description) }
        }
        var noise: NoiseLibrary?
        if plan?.snrRange != nil {
            guard let noiseDirectory else { throw CommandFailure.usage("--augment audio-snr needs --noise-dir with noise recordings") }
            noise = try NoiseLibrary(directory: noiseDirectory)
        }
        let extractor = ClipFeatureExtractor(speech: speech, visual: visual, layers: layerList, every: every)
        var random = SplitMix64(seed: seed)
        let order = try clipOrder()
        var rowNames: [String] = []
        var rows: [String: [[Float]]] = [:]
        var missingFaces: [String] = []
        for (name, path) in order {
            let audio = speech == nil ? [] : try ClipFeatureExtractor.audio(path)
            var variants: [(name: String, corruption: ClipFeatureExtractor.Corruption)] = [(name, .init())]
            if let plan {
                for copy in 1...copies {
                    let (snr, image) = plan.draw(using: &random)
                    var corruption = ClipFeatureExtractor.Corruption(snr: snr, image: image)
                    if snr != nil, let noise { (corruption.noise, corruption.noiseOffset) = noise.draw(using: &random) }
                    variants.append(("\(name)#aug\(copy)", corruption))
                }
            }
            for variant in variants {
                let clip = try extractor.extract(path, audio: audio, corruption: variant.corruption)
                rowNames.append(variant.name)
                for (feature, values) in clip.features { rows[feature, default: []].append(values) }
                if visual != nil && clip.faceFrames == 0 { missingFaces.append(variant.name) }
                var detail = "\(clip.faceFrames) face frames, \(clip.missingFrames) without a usable face"
                if let snr = clip.measuredSNR { detail += String(format: ", noise at %.2f dB", snr) }
                if let image = variant.corruption.image { detail += ", \(image)" }
                writeError("merd: \(variant.name): \(detail)")
            }
        }
        // Zeros for a clip without faces, sized like the clips that had them.
        var tensors: [(name: String, tensor: Tensor)] = []
        for feature in rows.keys.sorted() {
            let values = rows[feature]!
            guard let size = values.first(where: { !$0.isEmpty })?.count else { continue }
            let matrix = values.flatMap { $0.isEmpty ? [Float](repeating: 0, count: size) : $0 }
            tensors.append((feature, Tensor(shape: [rowNames.count, size], scalars: matrix)))
        }
        if !missingFaces.isEmpty { writeError("merd: no usable face in \(missingFaces.joined(separator: ", ")): their visual rows are zeros") }
        var metadata = ["clips": rowNames.joined(separator: ","), "layers": layerList.map(String.init).joined(separator: ","),
                        "every": "\(every)", "generator": "merd \(MerdVersion.string)"]
        if let augment { metadata["augment"] = "\(augment); copies \(copies); seed \(seed)" }
        do {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: out)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
        if plan != nil, let labels { try writeAugmentedLabels(labels, rows: rowNames) }
    }

    /// The labels CSV of the augmented rows: each copy takes its clip's labels.
    private func writeAugmentedLabels(_ labels: String, rows: [String]) throws {
        let lines = (try? String(contentsOfFile: labels, encoding: .utf8))?.split(whereSeparator: \.isNewline).map(String.init) ?? []
        guard let header = lines.first else { throw CommandFailure.usage("\(labels): empty labels CSV") }
        var byName: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let comma = line.firstIndex(of: ",") else { continue }
            byName[String(line[..<comma])] = String(line[comma...])
        }
        var csv = header + "\n"
        for row in rows { csv += row + (byName[String(row.split(separator: "#").first ?? "")] ?? "") + "\n" }
        let path = labelsOut ?? (out.hasSuffix(".safetensors") ? String(out.dropLast(".safetensors".count)) : out) + ".labels.csv"
        do { try csv.write(toFile: path, atomically: true, encoding: .utf8) } catch { throw CommandFailure.runtime("\(path): \(error.localizedDescription)") }
        writeError("merd: labels of the augmented rows: \(path)")
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
}
