import FusionTraining
import MerdDaemon
import ArgumentParser
import Foundation
import StreamEngine

/// `merd train`: cross-validated fusion models, one per structure, ensembled — from a
/// features file, or from a dataset directory whose clips' features it extracts first.
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the fusion model (AFG structures, JDEV head) with k-fold cross-validation.",
        discussion: """
            From a dataset directory (merd dataset import): --dataset DIR extracts every clip's features (HuBERT \
            layers, the installed face encoders), cached in DIR/cache by content and models so a rerun or a restart \
            computes only what is missing, then trains; --install puts the model in the models directory's fusion/ \
            (the one before is kept as fusion.previous). From a features file: --features F --labels CSV. With \
            --structure all, the three structures are trained and their ensemble weights searched on the \
            out-of-fold predictions; an audio-only dataset trains structure 1.
            """)

    @Option(help: "A dataset directory: labels.csv (name,discrete,valence) and clips/ with one media file per clip.")
    var dataset: String?
    @Option(help: "Features safetensors: one [clips × size] tensor per input (HL18, HL19, HL20, EN, MR, RF, …).")
    var features: String?
    @Option(help: "Labels CSV in the MER 2023 form: name,discrete,valence (rows in the features' order).")
    var labels: String?
    @Option(help: "1 (parallel), 2 (pairwise), 3 (hierarchical) or all.")
    var structure: String = "all"
    @Option(help: "The model directory to write.")
    var out: String?
    @Flag(help: "Install the model as the models directory's fusion/ (what merd run and merd analyze load).")
    var install = false
    @Option(help: "auto (a bar on a terminal, lines otherwise), json (JSON lines on stdout) or none.")
    var progress: String = "auto"
    @OptionGroup var modelsOption: ModelsOption
    @Option(help: "With --dataset: a HuBERT model directory (default: hubert-large or chinese-hubert-large in the models directory).")
    var hubert: String?
    @Option(help: "With --dataset: HuBERT hidden states to pool, comma-separated.")
    var layers: String = "18,19,20"
    @Option(help: "With --dataset: analyse every Nth video frame.")
    var every = 1
    @Option(help: "With --dataset: clips extracted at once, each on one compute thread (default: the cores).")
    var workers = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "With --dataset: corrupted copies per clip, as merd features video takes it: audio-snr=LO:HI and/or image=NAME,… (cached apart).")
    var augment: String?
    @Option(help: "With --augment: copies per clip (CLIP#aug1, …; a clip and its copies share a fold).")
    var copies = 1
    @Option(name: .customLong("noise-dir"), help: "With --augment audio-snr: noise recordings (any files FFmpeg reads).")
    var noiseDirectory: String?
    @Option(name: .customLong("augment-seed"), help: "With --augment: the seed of the copies' draws (each copy drawn from it, the clip's content and its number).")
    var augmentSeed: UInt64 = 1
    @Option(help: "jdev or plain.")
    var head: String = "jdev"
    @Option(help: "Inputs to use, comma-separated (default: every tensor of the features file).")
    var inputs: String?
    @Option var epochs: Int = 100
    @Option var folds: Int = 5
    @Option(name: .customLong("batch-size")) var batchSize: Int = 32
    @Option(name: .customLong("learning-rate")) var learningRate: Float = 1e-3
    @Option var seed: UInt64 = 1
    @Option(name: .customLong("modality-dropout"), help: "Probability of training a clip with one modality zeroed.")
    var modalityDropout: Float = 0

    func run() async throws {
        var structures: [FusionStructure]
        switch structure {
        case "all": structures = FusionStructure.allCases
        default:
            guard let value = Int(structure).flatMap(FusionStructure.init(rawValue:)) else {
                throw CommandFailure.usage("--structure takes 1, 2, 3 or all, not '\(structure)'")
            }
            structures = [value]
        }
        guard let headKind = FusionHead(rawValue: head) else { throw CommandFailure.usage("--head takes jdev or plain") }
        guard epochs > 0, folds >= 2, batchSize > 0, learningRate > 0, (0..<1).contains(modalityDropout) else {
            throw CommandFailure.usage("--epochs, --batch-size, --learning-rate must be positive, --folds ≥ 2, --modality-dropout in [0, 1)")
        }
        guard let style = ProgressStyle(rawValue: progress) else {
            throw CommandFailure.usage("--progress takes \(ProgressStyle.allCases.map(\.rawValue).joined(separator: ", ")), not '\(progress)'")
        }
        guard (dataset == nil) != (features == nil && labels == nil), dataset != nil || (features != nil && labels != nil) else {
            throw CommandFailure.usage("give --dataset DIR, or --features F with --labels CSV")
        }
        guard (out == nil) != !install else { throw CommandFailure.usage("give --out DIR or --install (one of them)") }
        guard every >= 1, workers >= 1 else { throw CommandFailure.usage("--every and --workers must be 1 or more") }
        guard dataset != nil || (augment == nil && noiseDirectory == nil) else {
            throw CommandFailure.usage("--augment and --noise-dir are for --dataset (merd features video --augment makes augmented features files)")
        }
        let reporter = TrainingProgress(style: style)

        let data: FusionDataset
        var provenance: DatasetProvenance?
        if let dataset {
            var source = DatasetFeatures(directory: dataset, models: modelsOption.directory, hubert: hubert, layers: layers,
                                         every: every, workers: workers)
            (source.augment, source.copies, source.noiseDirectory, source.augmentSeed) = (augment, copies, noiseDirectory, augmentSeed)
            let extracted = try source.extract(reporter: reporter)
            (data, provenance) = (extracted.dataset, extracted.provenance)
        } else {
            data = try loadDataset(features: features!, labels: labels!)
        }
        var chosen = data.inputs
        if let inputs {
            let names = inputs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            chosen = try names.map { name in
                guard let size = data.sizes[name] else {
                    throw CommandFailure.usage("input \(name) is not in the dataset (it has \(data.sizes.keys.sorted().joined(separator: ", ")))")
                }
                return FusionInput(name: name, size: size)
            }
        }
        let modalities = Set(chosen.compactMap { $0.feature?.modality })
        if modalities.count < 2, structures.contains(where: { $0 != .parallel }) {
            guard structure == "all" else {
                throw CommandFailure.usage("structure \(structure) needs speech and visual inputs; the dataset has only \(chosen.map(\.name).joined(separator: ", "))")
            }
            structures = [.parallel]
            reporter.note("only \(modalities.first == .speech ? "speech" : "visual") inputs (\(chosen.map(\.name).joined(separator: ", "))): structure 1 alone",
                          json: ["event": "structures", "structures": [1], "reason": "one modality"])
        }
        var options = FusionTrainingOptions()
        options.epochs = epochs
        options.folds = folds
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.seed = seed
        options.modalityDropout = modalityDropout

        let ensemble: FusionEnsemble
        var foldScores: [String: [FusionTrainingRecord.Scores]] = [:]
        var outOfFold: FusionMetrics?
        let plain = dataset == nil && style == .auto  // the features-file form prints as it always has
        do {
            ensemble = try FusionTrainer.trainEnsemble(inputs: chosen, structures: structures, head: headKind, dataset: data,
                                                       options: options) { event in
                switch event {
                case .fold(let structure, let fold, let result):
                    foldScores["\(structure.rawValue)", default: []].append(.init(result.validationMetrics))
                    let text = "structure \(structure.rawValue) fold \(fold + 1): best epoch \(result.bestEpoch), \(result.validationMetrics)"
                    if plain { writeError("merd: " + text) } else {
                        reporter.note(text, json: ["event": "fold", "structure": structure.rawValue, "fold": fold + 1, "best_epoch": result.bestEpoch]
                                      .merging(result.validationMetrics.json) { a, _ in a })
                    }
                case .structure(let structure, let metrics, let seconds, let clips):
                    outOfFold = metrics
                    let text = "structure \(structure.rawValue) out-of-fold: \(metrics)"
                    // How fast it trained, as the torch recipe's benchmark times it (without
                    // reading the features or writing the model): Benchmarks/training reads it.
                    let speed = String(format: "trained in %.2f s: %.0f training clips/s", seconds, Double(clips) / max(seconds, 1e-9))
                    if plain {
                        print(text)
                        writeError("merd: structure \(structure.rawValue) " + speed)
                    } else {
                        reporter.note(text + "; " + speed, json: ["event": "structure", "structure": structure.rawValue, "seconds": seconds,
                                                   "training_clips": clips].merging(metrics.json) { a, _ in a })
                    }
                case .ensembleWeights(let weights, let metrics):
                    outOfFold = metrics
                    let text = "ensemble weights \(weights.map { String(format: "%.2f", $0) }.joined(separator: ", ")) out-of-fold: \(metrics)"
                    if plain { print(text) } else {
                        reporter.note(text, json: ["event": "ensemble", "weights": weights.map(Double.init)].merging(metrics.json) { a, _ in a })
                    }
                }
            }
        } catch {
            throw CommandFailure.usage(error.description)
        }
        var record: FusionTrainingRecord?
        if let provenance, let outOfFold {
            record = FusionTrainingRecord(corpus: provenance.dataset?.corpus, source: provenance.dataset?.source ?? dataset, clips: data.count,
                                          labelMap: provenance.dataset?.labelMap, featureModels: provenance.featureModels,
                                          layers: provenance.layers, every: every, epochs: epochs, folds: folds, foldScores: foldScores,
                                          outOfFold: .init(outOfFold), generator: "merd \(MerdVersion.string)",
                                          date: ISO8601DateFormatter().string(from: Date()))
        }
        let metadata = ["generator": "merd \(MerdVersion.string)", "features": features ?? dataset!, "epochs": "\(epochs)"]
        let digest: (String) -> String? = { try? ContentDigest.hex(ofFile: $0, algorithm: .sha256) }
        if let out {
            do { try FusionModelFile.save(ensemble, to: out, metadata: metadata, training: record, digest: digest) } catch {
                throw CommandFailure.runtime(error.description)
            }
            if dataset != nil { reporter.note("wrote \(out)", json: ["event": "written", "path": out]) }
        } else {
            let installed = try FusionInstall.install(ensemble, models: modelsOption.directory, metadata: metadata, training: record, digest: digest)
            reporter.note("installed \(installed.path)" + (installed.previous.map { " (the model before is in \($0))" } ?? "")
                          + (ensemble.valenceTrained ? "" : "; no valence labels: valence will come from the voice and face models")
                          + "; a running merd decodes with it after `systemctl reload merd` (SIGHUP)",
                          json: ["event": "installed", "path": installed.path, "previous": installed.previous ?? NSNull(),
                                 "valence_trained": ensemble.valenceTrained])
        }
    }
}

extension FusionTrainingRecord.Scores {
    init(_ metrics: FusionMetrics) {
        self.init(weightedF1: metrics.weightedF1, valenceMSE: metrics.valenceClips > 0 ? metrics.valenceMSE : nil,
                  combined: metrics.combined)
    }
}

extension FusionMetrics {
    /// The metrics as `--progress json` gives them.
    var json: [String: Any] {
        ["weighted_f1": weightedF1, "valence_mse": valenceClips > 0 ? valenceMSE as Any : NSNull(), "combined": combined, "accuracy": accuracy]
    }
}

/// Loads a dataset, turning its errors into the CLI's (a bad file is a usage error).
func loadDataset(features: String, labels: String, requireLabels: Bool = true) throws -> FusionDataset {
    do {
        return try FusionDataset.load(features: features, labels: labels, requireLabels: requireLabels)
    } catch {
        throw CommandFailure.usage(error.description)
    }
}

/// `merd eval`: MER 2023's metrics of a model on labelled features, or on labelled media
/// under noise (clean, then each SNR and image corruption asked for).
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Weighted F1, valence MSE and the combined score of a fusion model.",
        discussion: """
            On a features file: --features F --labels CSV. Under noise: --labels CSV --noise-dir D --snr 20,10,5 \
            MEDIA… computes the model's inputs from the media once clean and once per condition (speech noise from \
            D at each SNR, measured on the speech; each --image corruption on every frame) and prints a table.
            """)

    @Option var model: String
    @Option var features: String?
    @Option var labels: String

    @Option(name: .customLong("noise-dir"), help: "Noise recordings (any files FFmpeg reads) for the speech-noise conditions.")
    var noiseDirectory: String?
    @Option(help: "SNRs of the speech-noise conditions, comma-separated dB.")
    var snr: String = "20,10,5"
    @Option(help: "Image-corruption conditions, comma-separated: solarize, blur, rotate, cutout.")
    var image: String?
    @Option(help: "Models directory for the feature encoders (default: $MERD_MODELS, …).")
    var models: String?
    @Option(help: "A HuBERT model directory (default: hubert-large or chinese-hubert-large in the models directory).")
    var hubert: String?
    @Option(help: "Analyse every Nth video frame.")
    var every = 1
    @Option(help: "Seed of the noise draws.")
    var seed: UInt64 = 1
    @Argument(help: "Labelled media files, with --noise-dir or --image.")
    var media: [String] = []

    func run() async throws {
        let ensemble = try loadEnsemble(model)
        if let features {
            let dataset = try loadDataset(features: features, labels: labels)
            let metrics: FusionMetrics
            do { metrics = try ensemble.metrics(on: dataset, source: features) } catch { throw CommandFailure.usage(error.description) }
            // No valence to score (labels without it, or a model trained without it): no MSE,
            // and no combined score, which needs one.
            let scored = metrics.valenceClips > 0 && ensemble.valenceTrained
            print(String(format: "weighted_f1 %.4f", metrics.weightedF1))
            print("valence_mse " + (scored ? String(format: "%.4f", metrics.valenceMSE) : "none"))
            print("combined " + (scored ? String(format: "%.4f", metrics.combined) : "none"))
            print(String(format: "accuracy %.4f\nclips %d", metrics.accuracy, dataset.count))
            return
        }
        guard !media.isEmpty, noiseDirectory != nil || image != nil else {
            throw CommandFailure.usage("give --features F, or media files with --noise-dir and/or --image")
        }
        try runUnderNoise(ensemble)
    }

    private func runUnderNoise(_ ensemble: FusionEnsemble) throws {
        let snrs = try CommaSeparated.values(snr, option: "--snr", what: "decibels, e.g. 20,10,5") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
        let corruptions = (image ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in corruptions where !ImageCorruption.names.contains(name) {
            throw CommandFailure.usage("--image: '\(name)' is not one of \(ImageCorruption.names.joined(separator: ", "))")
        }
        guard every >= 1 else { throw CommandFailure.usage("--every must be 1 or more") }
        let layers = ensemble.inputs.compactMap { $0.feature?.speechLayer }
        let root = ModelsDirectory.resolve(models)
        var speech: HuBERT?
        if !layers.isEmpty {
            guard let (model, _) = try EngineModels.speechModel(root: root, explicit: hubert, highestLayer: layers.max()!) else {
                let names = layers.map { FeatureName.speechLayer($0).description }.joined(separator: ", ")
                throw CommandFailure.usage("the model reads \(names); no HuBERT model in \(root) (--hubert DIR)")
            }
            speech = model
        }
        var visual: VisionModels?
        if !ensemble.inputs(of: .visual).isEmpty {
            do { visual = try VisionModels(directory: root) } catch { throw CommandFailure.usage(error.description) }
        }
        let noise: NoiseLibrary?
        do { noise = try noiseDirectory.map { directory throws(ClipFeatureError) in try NoiseLibrary(directory: directory) } } catch {
            throw CommandFailure(error)
        }
        let extractor = ClipFeatureExtractor(speech: speech, visual: visual, layers: layers, every: every)
        let evaluation: NoiseEvaluation
        do {
            let table = try LabelsCSV.read(labels)
            evaluation = try NoiseEvaluation(ensemble: ensemble, extractor: extractor, clips: try MediaClips.ordered(media, by: table), labels: table)
        } catch let error as FusionError {
            throw CommandFailure.usage(error.description)
        } catch let error as ClipFeatureError {
            throw CommandFailure(error)
        }
        print("| condition | weighted F1 | valence MSE | combined |")
        print("|---|---|---|---|")
        for condition in NoiseEvaluation.conditions(noise: noise, snrs: snrs, imageCorruptions: corruptions) {
            let metrics: FusionMetrics
            do { metrics = try evaluation.metrics(under: condition, seed: seed) } catch { throw CommandFailure(error) }
            print(String(format: "| %@ | %.4f | %.4f | %.4f |", condition.label, metrics.weightedF1, metrics.valenceMSE, metrics.combined))
        }
    }
}

/// `merd predict`: the MER 2023 submission CSV (name,discrete,valence).
struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write MER 2023 predictions: name,discrete,valence.")

    @Option var model: String
    @Option var features: String
    @Option(help: "CSV whose first column names the clips, in the features' row order.")
    var labels: String
    @Option var out: String

    func run() async throws {
        let ensemble = try loadEnsemble(model)
        let dataset = try loadDataset(features: features, labels: labels, requireLabels: false)
        for input in ensemble.inputs where dataset.sizes[input.name] != input.size {
            throw CommandFailure.usage("\(features) lacks input \(input.name) of size \(input.size) that the model reads")
        }
        let (p, v) = ensemble.predict(dataset.features, rows: dataset.count)
        let rows = dataset.names.enumerated().map { i, name in
            // A model trained without valence labels has no valence to give: the field stays empty.
            LabelsCSV.Row(name: name, fields: [name, ensemble.labels[p[i].argmaxIndex],
                                               ensemble.valenceTrained ? String(format: "%.4f", min(5, max(-5, v[i]))) : ""])
        }
        do { try LabelsCSV(source: out, columns: ["name", "discrete", "valence"], rows: rows).write(to: out) } catch {
            throw CommandFailure.runtime(error.description)
        }
    }
}

/// Loads a fusion model, turning its errors into the CLI's (a bad model is a usage error).
func loadEnsemble(_ directory: String) throws -> FusionEnsemble {
    do { return try FusionModelFile.load(directory) } catch { throw CommandFailure.usage(error.description) }
}

extension Array where Element == Float {
    var argmaxIndex: Int { indices.max { self[$0] < self[$1] }! }
}
