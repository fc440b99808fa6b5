import ArgumentParser
import Foundation
import StreamEngine

/// `merd train`: cross-validated fusion models, one per structure, ensembled.
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the fusion model (AFG structures, JDEV head) with k-fold cross-validation.",
        discussion: "With --structure all, the three structures are trained and their ensemble weights searched on the out-of-fold predictions.")

    @Option(help: "Features safetensors: one [clips × size] tensor per input (HL18, HL19, HL20, MR, RF, …).")
    var features: String
    @Option(help: "Labels CSV in the MER 2023 form: name,discrete,valence (rows in the features' order).")
    var labels: String
    @Option(help: "1 (parallel), 2 (pairwise), 3 (hierarchical) or all.")
    var structure: String = "all"
    @Option(help: "The model directory to write.")
    var out: String
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
        let structures: [FusionStructure]
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
        let dataset = try loadDataset(features: features, labels: labels)
        var chosen = dataset.inputs
        if let inputs {
            let names = inputs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            chosen = try names.map { name in
                guard let size = dataset.sizes[name] else {
                    throw CommandFailure.usage("input \(name) is not in \(features) (it has \(dataset.sizes.keys.sorted().joined(separator: ", ")))")
                }
                return FusionInput(name: name, size: size)
            }
        }
        var options = FusionTrainingOptions()
        options.epochs = epochs
        options.folds = folds
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.seed = seed
        options.modalityDropout = modalityDropout

        var members: [(FusionStructure, [FusionModel], (probabilities: [[Float]], valence: [Float]))] = []
        for structure in structures {
            let architecture = FusionArchitecture(inputs: chosen, structure: structure, head: headKind)
            let results: [FusionFoldResult]
            do { results = try FusionTrainer.crossValidate(architecture, dataset: dataset, options: options) } catch {
                throw CommandFailure.usage(error.description)
            }
            for (f, r) in results.enumerated() {
                writeError("merd: structure \(structure.rawValue) fold \(f + 1): best epoch \(r.bestEpoch), \(r.validationMetrics)")
            }
            let oof = FusionTrainer.outOfFold(results, count: dataset.count, labels: architecture.labels.count)
            let metrics = FusionMetrics(trueLabels: dataset.labels, predictedLabels: oof.probabilities.argmaxRows,
                                        trueValence: dataset.valence, predictedValence: oof.valence, labelCount: architecture.labels.count)
            print("structure \(structure.rawValue) out-of-fold: \(metrics)")
            members.append((structure, results.map(\.model), oof))
        }
        var weights: [Float] = [1]
        if members.count > 1 {
            let search = FusionTrainer.ensembleWeights(members.map(\.2), dataset: dataset, labels: FusionArchitecture.merLabels.count)
            weights = search.weights
            print("ensemble weights \(weights.map { String(format: "%.2f", $0) }.joined(separator: ", ")) out-of-fold: \(search.metrics)")
        }
        let ensemble = try FusionEnsemble(members: zip(members, weights).map { .init(structure: $0.0, weight: $1, folds: $0.1) })
        do {
            try FusionModelFile.save(ensemble, to: out, metadata: ["generator": "merd \(MerdVersion.string)", "features": features, "epochs": "\(epochs)"])
        } catch {
            throw CommandFailure.runtime(error.description)
        }
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

/// `merd eval`: MER 2023's metrics of a model on labelled features.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Weighted F1, valence MSE and the combined score of a fusion model.")

    @Option var model: String
    @Option var features: String
    @Option var labels: String

    func run() async throws {
        let ensemble: FusionEnsemble
        do { ensemble = try FusionModelFile.load(model) } catch { throw CommandFailure.usage(error.description) }
        let dataset = try loadDataset(features: features, labels: labels)
        for input in ensemble.inputs where dataset.sizes[input.name] != input.size {
            throw CommandFailure.usage("\(features) lacks input \(input.name) of size \(input.size) that the model reads")
        }
        let (p, v) = ensemble.predict(dataset.features, rows: dataset.count)
        let metrics = FusionMetrics(trueLabels: dataset.labels, predictedLabels: p.argmaxRows, trueValence: dataset.valence,
                                    predictedValence: v, labelCount: ensemble.labels.count)
        print(String(format: "weighted_f1 %.4f\nvalence_mse %.4f\ncombined %.4f\naccuracy %.4f\nclips %d",
                     metrics.weightedF1, metrics.valenceMSE, metrics.combined, metrics.accuracy, dataset.count))
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
        let ensemble: FusionEnsemble
        do { ensemble = try FusionModelFile.load(model) } catch { throw CommandFailure.usage(error.description) }
        let dataset = try loadDataset(features: features, labels: labels, requireLabels: false)
        for input in ensemble.inputs where dataset.sizes[input.name] != input.size {
            throw CommandFailure.usage("\(features) lacks input \(input.name) of size \(input.size) that the model reads")
        }
        let (p, v) = ensemble.predict(dataset.features, rows: dataset.count)
        var csv = "name,discrete,valence\n"
        for (i, name) in dataset.names.enumerated() {
            let valence = min(5, max(-5, v[i]))
            csv += "\(name),\(ensemble.labels[p[i].argmaxIndex]),\(String(format: "%.4f", valence))\n"
        }
        do { try csv.write(toFile: out, atomically: true, encoding: .utf8) } catch { throw CommandFailure.runtime("\(out): \(error.localizedDescription)") }
    }
}

extension Array where Element == Float {
    var argmaxIndex: Int { indices.max { self[$0] < self[$1] }! }
}
