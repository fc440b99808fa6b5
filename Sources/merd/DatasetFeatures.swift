import Foundation
import FusionTraining
import MerdDaemon
import NeuralKit
import StreamEngine

/// Where a dataset's features came from, for the trained model's manifest.
struct DatasetProvenance {
    /// `import.json`, when `merd dataset import` made the directory.
    var dataset: DatasetRecord?
    var featureModels: [FusionTrainingRecord.FeatureModel]
    var layers: [Int]
}

/// `merd train --dataset DIR`'s first half: the dataset directory's clips matched to its
/// labels, the feature models loaded and fingerprinted, every clip's features extracted
/// through the cache in `DIR/cache`, and the fusion dataset they make.
struct DatasetFeatures {
    let directory: String
    let models: String
    let hubert: String?
    let layers: String
    let every: Int
    let workers: Int
    /// `--augment`, `--copies`, `--noise-dir`, `--augment-seed`.
    var augment: String?
    var copies = 1
    var noiseDirectory: String?
    var augmentSeed: UInt64 = 1

    func extract(reporter: TrainingProgress) throws -> (dataset: FusionDataset, provenance: DatasetProvenance) {
        let record: DatasetRecord?
        do { record = try DatasetRecord.read(directory: directory) } catch { throw CommandFailure.usage(error.description) }
        let table: LabelsCSV
        let clips: [(name: ClipName, path: String)]
        let media = try mediaFiles()
        do throws(FusionError) {
            table = try LabelsCSV.read(directory + "/labels.csv")
            clips = try MediaClips.ordered(media, by: table)
        } catch {
            throw CommandFailure.usage(error.description + " (a dataset directory holds labels.csv and clips/; see merd dataset import)")
        }
        guard !table.rows.isEmpty else { throw CommandFailure.usage("\(directory)/labels.csv has no clips") }

        let layerList = try CommaSeparated.layers(layers)
        let speech: (HuBERT, String)?
        do { speech = try EngineModels.speechModel(root: models, explicit: hubert, highestLayer: layerList.max()!) } catch {
            throw CommandFailure.usage("\(error)")
        }
        var visual: VisionModels?
        if record?.audioOnly != true, VisionModels.available(in: models) {
            do { visual = try VisionModels(directory: models) } catch { throw CommandFailure.usage(error.description) }
        }
        guard speech != nil || visual != nil else {
            throw CommandFailure.usage("\(models) holds neither a HuBERT model nor the visual models; see `merd models fetch hubert-large` and tools/fetch-default-models")
        }
        if speech == nil { reporter.warning("no HuBERT model in \(models) (--hubert DIR): training on the face encoders alone") }

        // Every model that fixes the features, by the sha256 of its weights.
        var featureModels: [FusionTrainingRecord.FeatureModel] = []
        func add(_ role: String, _ name: String, _ path: String?) throws {
            guard let path else { return }
            do { featureModels.append(.init(role: role, name: name, sha256: try ModelIntegrity.sha256(of: path))) } catch {
                throw CommandFailure.runtime("cannot fingerprint the features: \(error.description)")
            }
        }
        if let (_, hubertDirectory) = speech {
            try add("speech", URL(fileURLWithPath: hubertDirectory).lastPathComponent, ModelWeights.existingPath(in: hubertDirectory))
        }
        if let visual {
            try add("face-detector", VisionModels.detectorFolder, models + "/\(VisionModels.detectorFolder)/model.safetensors")
            try add("face-landmarks", VisionModels.landmarkFolder, models + "/\(VisionModels.landmarkFolder)/\(VisionModels.landmarkFile)")
            for name in visual.encoderNames { try add("face-encoder", name, ModelWeights.existingPath(in: models + "/" + name)) }
        }
        let fingerprint = (["merd clip features 1", "layers \(layerList.map(String.init).joined(separator: ","))", "every \(every)", "augment none"]
                           + featureModels.map { "\($0.role) \($0.name) \($0.sha256)" }).joined(separator: "\n")
        let cache: FeatureCache
        do { cache = try FeatureCache(root: directory + "/cache", fingerprint: fingerprint) } catch { throw CommandFailure(error) }

        var augmentation: DatasetExtraction.Augmentation?
        if let augment {
            let plan: AugmentationPlan
            do { plan = try AugmentationPlan(parsing: augment) } catch { throw CommandFailure.usage(error.description) }
            guard copies >= 1 else { throw CommandFailure.usage("--copies must be 1 or more") }
            var noise: NoiseLibrary?
            if plan.snrRange != nil {
                guard let noiseDirectory else { throw CommandFailure.usage("--augment audio-snr needs --noise-dir with noise recordings") }
                do { noise = try NoiseLibrary(directory: noiseDirectory) } catch { throw CommandFailure(error) }
            }
            // The copies' cache: the clean fingerprint plus what fixes the corruption.
            let recordings = noise?.recordings.map { "\($0.name) \($0.samples.count)" }.joined(separator: ",") ?? "none"
            let copiesCache: FeatureCache
            do {
                copiesCache = try FeatureCache(root: directory + "/cache",
                                               fingerprint: fingerprint.replacingOccurrences(of: "augment none", with: "augment \(augment); seed \(augmentSeed); noise \(recordings)"))
            } catch { throw CommandFailure(error) }
            augmentation = .init(plan: plan, copies: copies, noise: noise, seed: augmentSeed, cache: copiesCache)
        } else if noiseDirectory != nil {
            throw CommandFailure.usage("--noise-dir is for --augment audio-snr=LO:HI")
        }
        let extraction = DatasetExtraction(extractor: ClipFeatureExtractor(speech: speech?.0, visual: visual, layers: layerList, every: every),
                                           cache: cache, workers: workers, augmentation: augmentation)
        let rowCount = clips.count * (1 + (augmentation?.copies ?? 0))
        reporter.starting(total: rowCount, cached: cache.count + (augmentation?.cache.count ?? 0), workers: min(workers, rowCount))
        let results: [(name: ClipName, clip: ClipFeatureExtractor.Clip)]
        do {
            results = try extraction.run(clips.map { ($0.name.description, $0.path) },
                                         key: { try ContentDigest.hex(ofFile: $0, algorithm: .sha256) },
                                         progress: { reporter.clip($0) }, warning: { reporter.warning($0) })
        } catch {
            throw CommandFailure(error)
        }
        let faceless = results.filter { visual != nil && $0.clip.faceFrames == 0 }.map(\.name.description)
        if !faceless.isEmpty {
            reporter.warning("no usable face in \(faceless.count) row(s) (\(faceless.prefix(5).joined(separator: ", "))): their visual rows are zeros")
        }
        var features: [String: [Float]] = [:], sizes: [String: Int] = [:]
        for (name, tensor) in FeatureDatasetBuilder.tensors(results.map(\.clip.features)) {
            features[name] = tensor.scalars
            sizes[name] = tensor.shape[1]
        }
        guard !features.isEmpty else { throw CommandFailure.runtime("no clip of \(directory) gave any feature (no speech, no face)") }
        // Copies take their clip's labels; folds keep a clip and its copies together.
        let rows: LabelsCSV
        do { rows = try table.rows(for: results.map(\.name)) } catch { throw CommandFailure.runtime(error.description) }
        let dataset = FusionDataset(names: rows.names, labels: rows.labels, valence: rows.valence, features: features, sizes: sizes)
        return (dataset, DatasetProvenance(dataset: record, featureModels: featureModels, layers: speech == nil ? [] : layerList))
    }

    /// The media files of `clips/`.
    private func mediaFiles() throws -> [String] {
        let folder = directory + "/clips"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw CommandFailure.usage("\(folder): no clips folder (a dataset directory holds labels.csv and clips/; see merd dataset import)")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder + "/" + $0 }
    }
}
