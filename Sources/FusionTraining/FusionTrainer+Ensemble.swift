import MediaTypes
import StreamEngine

/// What ensemble training has done so far, for a caller to show.
package enum FusionTrainingProgress {
    /// A fold of a structure is trained (`fold` from 0).
    case fold(FusionStructure, fold: Int, FusionFoldResult)
    /// A structure's folds are trained; its out-of-fold metrics, and how long its
    /// cross-validation took (every fold's epochs and their validation) and over how many
    /// training clips (each fold's, times its epochs).
    case structure(FusionStructure, outOfFold: FusionMetrics, seconds: Double, trainingClips: Int)
    /// The ensemble weights found (one per structure, in order) and their out-of-fold metrics.
    case ensembleWeights([Float], outOfFold: FusionMetrics)
}

extension FusionTrainer {
    /// The paper's recipe end to end: each structure trained by k-fold cross-validation over
    /// `inputs`, its folds' models kept, and with more than one structure the ensemble weights
    /// searched on the out-of-fold predictions (PAPER.md, "Ensemble").
    package static func trainEnsemble(inputs: [FusionInput], structures: [FusionStructure], head: FusionHead, dataset: FusionDataset,
                                      options: FusionTrainingOptions,
                                      progress: (FusionTrainingProgress) -> Void = { _ in }) throws(FusionError) -> FusionEnsemble {
        precondition(!structures.isEmpty, "at least one structure")
        var members: [(structure: FusionStructure, folds: [FusionModel], outOfFold: (probabilities: [[Float]], valence: [Float]))] = []
        var labelCount = 0
        for structure in structures {
            let architecture = FusionArchitecture(inputs: inputs, structure: structure, head: head)
            labelCount = architecture.labels.count
            let started = ContinuousClock.now
            let results = try crossValidate(architecture, dataset: dataset, options: options)
            let elapsed = ContinuousClock.now - started
            let validated = results.reduce(0) { $0 + $1.validationIndices.count }
            for (f, result) in results.enumerated() { progress(.fold(structure, fold: f, result)) }
            let oof = outOfFold(results, count: dataset.count, labels: labelCount)
            progress(.structure(structure, outOfFold: FusionMetrics(trueLabels: dataset.labels, predictedLabels: oof.probabilities.argmaxRows,
                                                                    trueValence: dataset.valence, predictedValence: oof.valence,
                                                                    labelCount: labelCount),
                                seconds: elapsed.seconds,
                                trainingClips: (results.count * dataset.count - validated) * FoldTraining.epochs(options)))
            members.append((structure, results.map(\.model), oof))
        }
        var weights: [Float] = [1]
        if members.count > 1 {
            let search = ensembleWeights(members.map(\.outOfFold), dataset: dataset, labels: labelCount)
            weights = search.weights
            progress(.ensembleWeights(weights, outOfFold: search.metrics))
        }
        // A dataset without any valence label (RAVDESS, say) leaves the valence head untrained.
        return try FusionEnsemble(members: zip(members, weights).map { .init(structure: $0.structure, weight: $1, folds: $0.folds) },
                                  modalityDropout: options.modalityDropout, valenceTrained: dataset.valence.contains { !$0.isNaN })
    }
}
