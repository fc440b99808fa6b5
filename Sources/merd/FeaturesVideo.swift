import FusionTraining
import MerdDaemon
import ArgumentParser
import Foundation
import NeuralKit
import StreamEngine

/// `merd features video`: a fusion dataset from media files, one row per clip.
struct FeaturesVideo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "A fusion feature dataset from media files: one row per clip, one tensor per input (HL18 … EN, MX, RF, MR).",
        discussion: """
            Audio: HuBERT hidden states (--layers) mean-pooled over the clip, tensors HL<k>, when a HuBERT \
            model is in the models directory (hubert-large or chinese-hubert-large) or given by --hubert. \
            Faces: every --every-th frame through the face pipeline, each installed encoder's embedding \
            averaged over the frames with a usable face (EN and EN2 EmotiEffLib's EfficientNet-B0 and -B2, MX \
            mini-Xception, RF ResNet-50, MR MA-Net); a clip \
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
        var augmentation: FeatureDatasetBuilder.Augmentation?
        if let augment {
            let plan: AugmentationPlan
            do { plan = try AugmentationPlan(parsing: augment) } catch { throw CommandFailure.usage(error.description) }
            var noise: NoiseLibrary?
            if plan.snrRange != nil {
                guard let noiseDirectory else { throw CommandFailure.usage("--augment audio-snr needs --noise-dir with noise recordings") }
                do { noise = try NoiseLibrary(directory: noiseDirectory) } catch { throw CommandFailure(error) }
            }
            augmentation = .init(plan: plan, copies: copies, noise: noise)
        }
        let table: LabelsCSV?
        let clips: [(name: ClipName, path: String)]
        do {
            table = try labels.map { path throws(FusionError) in try LabelsCSV.read(path, requireLabels: false) }
            clips = try MediaClips.ordered(inputs, by: table)
        } catch {
            throw CommandFailure.usage(error.description)
        }

        var builder = FeatureDatasetBuilder(extractor: ClipFeatureExtractor(speech: speech, visual: visual, layers: layerList, every: every),
                                            augmentation: augmentation, seed: seed)
        var missingFaces: [String] = []
        for clip in clips {
            let rows: [FeatureDatasetBuilder.Row]
            do { rows = try builder.add(clip.name, path: clip.path) } catch { throw CommandFailure(error) }
            for row in rows {
                if visual != nil && row.clip.faceFrames == 0 { missingFaces.append(row.name.description) }
                var detail = "\(row.clip.faceFrames) face frames, \(row.clip.missingFrames) without a usable face"
                if let snr = row.clip.measuredSNR { detail += String(format: ", noise at %.2f dB", snr) }
                if let image = row.corruption.image { detail += ", \(image)" }
                writeError("merd: \(row.name): \(detail)")
            }
        }
        if !missingFaces.isEmpty { writeError("merd: no usable face in \(missingFaces.joined(separator: ", ")): their visual rows are zeros") }
        var metadata = ["clips": builder.rowNames.map(\.description).joined(separator: ","), "layers": layerList.map(String.init).joined(separator: ","),
                        "every": "\(every)", "generator": "merd \(MerdVersion.string)"]
        if let augment { metadata["augment"] = "\(augment); copies \(copies); seed \(seed)" }
        do {
            try SafeTensorsWriter.write(builder.tensors, metadata: metadata, to: out)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
        if augmentation != nil, let table {
            let path = labelsOut ?? (out.hasSuffix(".safetensors") ? String(out.dropLast(".safetensors".count)) : out) + ".labels.csv"
            do { try table.rows(for: builder.rowNames).write(to: path) } catch { throw CommandFailure.runtime(error.description) }
            writeError("merd: labels of the augmented rows: \(path)")
        }
    }
}

extension CommandFailure {
    /// A clip-feature error as the command line reports it: the request's fault is a usage error.
    init(_ error: ClipFeatureError) {
        self = error.isRequestError ? .usage(error.description) : .runtime(error.description)
    }
}
