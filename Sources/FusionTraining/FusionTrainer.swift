import NeuralKit
import CNeuralKernels
import Foundation
import Locking
import StreamEngine

/// The training recipe (PAPER.md, after the MER 2023 baseline): Adam with weight decay,
/// mini-batches, dropout, the uncertainty-weighted loss, k-fold cross-validation with the best
/// epoch chosen by the combined score on each fold's validation clips.
public struct FusionTrainingOptions: Sendable, Equatable {
    public var epochs = 100
    public var batchSize = 32
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-5
    public var folds = 5
    public var seed: UInt64 = 1
    /// Probability, per training clip, of zeroing one modality (audio or the rest), so the
    /// model learns to decode with the face or the voice missing. 0 turns it off.
    public var modalityDropout: Float = 0
    /// Folds trained at once, each on one thread (see `crossValidate`); 1 trains them one
    /// after another on the compute threads as they are set. The results are the same.
    public var parallelFolds = ProcessInfo.processInfo.activeProcessorCount
    /// JDEV's valence is trained as valence / `valenceScale` (recorded in the model's
    /// architecture, which multiplies back): 5 puts MER's [-5, 5] in the range of the tanh
    /// branch ṽᵉ. At 1 the branch could not reach the class valences within the recipe's steps
    /// (Adam moves a weight ~1e-3 per step) and valence came from ṽ alone (issue 21). The
    /// plain head, which has no such branch, keeps 1 (it measured worse at 5 in the torch
    /// recipe: 0.50 against 0.39 on the JDEV fixture).
    public var valenceScale: Float = 5
    /// JDEV: probability, per training clip, of dropping the feature branch ṽ from the valence
    /// (inverted dropout, as `Tape.dropout`), so the emotion branch ṽᵉ = tanh(êW + b) must carry
    /// the class's valence. Without it ṽ, a linear read-out of 128 fused values, learnt the
    /// clips' own valence noise and the joint layer shut ṽᵉ off (issue 21: out-of-fold valence
    /// MSE 1.19 → 0.79–0.88 in the torch recipe on the generated data). 0 turns it off.
    public var valenceBranchDropout: Float = 0.7

    public init() {}
}

/// One fold's outcome.
public struct FusionFoldResult: Sendable {
    public let model: FusionModel
    public let bestEpoch: Int
    public let validationMetrics: FusionMetrics
    /// Validation clips' indices in the full dataset, and the model's predictions for them.
    public let validationIndices: [Int]
    public let probabilities: [[Float]]
    public let valence: [Float]
}

public enum FusionTrainer {
    /// Trains on `training`, keeping the parameters of the epoch with the best combined score
    /// on `validation`.
    public static func train(_ architecture: FusionArchitecture, training: FusionDataset, validation: FusionDataset,
                             options: FusionTrainingOptions, validationIndices: [Int] = []) throws(FusionError) -> FusionFoldResult {
        try FoldTraining(architecture, training: training, validation: validation, options: options,
                         validationIndices: validationIndices).trainToEnd()
    }

    /// k-fold cross-validation: each fold trains on the others and is scored on itself. Clips
    /// are dealt to folds by group — a clip and its augmented copies (`NAME#aug1`, …) share a
    /// group — so no copy of a validation clip is ever trained on.
    public static func crossValidate(_ architecture: FusionArchitecture, dataset: FusionDataset,
                                     options: FusionTrainingOptions) throws(FusionError) -> [FusionFoldResult] {
        let folds = max(2, options.folds)
        let groups = foldGroups(dataset.names)
        guard groups.count >= folds else { throw .invalidDataset(file: "dataset", reason: "\(groups.count) clips for \(folds) folds") }
        var random = SplitMix64(seed: options.seed)
        var shuffled = Array(0..<groups.count)
        shuffled.shuffle(using: &random)
        let order = shuffled
        @Sendable func makeFold(_ fold: Int) throws(FusionError) -> FoldTraining {
            let validation = order.enumerated().filter { $0.offset % folds == fold }.flatMap { groups[$0.element] }
            let training = order.enumerated().filter { $0.offset % folds != fold }.flatMap { groups[$0.element] }
            var foldOptions = options
            foldOptions.seed = options.seed &+ UInt64(fold) &* 1_000_003
            return try FoldTraining(architecture, training: dataset.subset(training), validation: dataset.subset(validation),
                                    options: foldOptions, validationIndices: validation)
        }
        let workers = min(folds, max(1, options.parallelFolds))
        guard workers > 1 else {
            return try (0..<folds).map { index throws(FusionError) in try makeFold(index).trainToEnd() }
        }
        // A mini-batch's GEMMs (32 rows) are too small to share between threads: on 2 cores
        // and 2 BLAS threads, structure 1 on 3,000 clips took 30 s of wall time for 31 s of
        // user time (with OpenBLAS's workers spinning: 28.7 s wall, 33 s user, 24 s system).
        // Folds are independent, so each worker trains one on one thread of either library
        // (OpenBLAS's count is the process's; OpenMP's, oneDNN's, each thread's), an epoch at
        // a time as `FoldSchedule` deals them.
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = threads }
        let compute = Compute.current
        let schedule = Locked(FoldSchedule(folds: folds, epochs: FoldTraining.epochs(options)))
        // Folds begun and not finished; a finished one leaves only its result (its moments
        // and gradients are freed).
        let running = Locked<[Int: FoldTraining]>([:])
        let results = Locked<[Int: Result<FusionFoldResult, FusionError>]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            ComputeThreads.withOpenMPThreads(1) {
                Compute.withSettings(compute) {
                    while let index = schedule.withLock({ $0.take() }) {
                        do throws(FusionError) {
                            let fold: FoldTraining
                            if let begun = running.withLock({ $0[index] }) { fold = begun } else { fold = try makeFold(index) }
                            try fold.runEpoch()
                            if fold.isFinished {
                                let result = Result { () throws(FusionError) in try fold.result() }
                                running.withLock { $0[index] = nil }
                                results.withLock { $0[index] = result }
                            } else {
                                running.withLock { $0[index] = fold }
                            }
                            schedule.withLock { $0.release(index) }
                        } catch {
                            running.withLock { $0[index] = nil }
                            results.withLock { $0[index] = .failure(error) }
                            schedule.withLock { $0.release(index, failed: true) }
                        }
                    }
                }
            }
        }
        let collected = results.withLock { $0 }
        return try (0..<folds).map { fold throws(FusionError) in try collected[fold]!.get() }
    }

    /// Row indices grouped by clip — a clip and its copies (`ClipName`) — in order of first
    /// appearance; a name that is no `ClipName` is a group of its own. Without copies every
    /// row is its own group.
    static func foldGroups(_ names: [String]) -> [[Int]] {
        var index: [String: Int] = [:]
        var groups: [[Int]] = []
        for (row, name) in names.enumerated() {
            let clip = ClipName(name)?.clip ?? name
            if let g = index[clip] {
                groups[g].append(row)
            } else {
                index[clip] = groups.count
                groups.append([row])
            }
        }
        return groups
    }

    /// Out-of-fold predictions of every clip, in dataset order.
    public static func outOfFold(_ results: [FusionFoldResult], count: Int, labels: Int) -> (probabilities: [[Float]], valence: [Float]) {
        var p = [[Float]](repeating: [Float](repeating: 0, count: labels), count: count)
        var v = [Float](repeating: 0, count: count)
        for result in results {
            for (j, i) in result.validationIndices.enumerated() {
                p[i] = result.probabilities[j]
                v[i] = result.valence[j]
            }
        }
        return (p, v)
    }

    /// The weights k (Σ k = 1, steps of 0.05) that maximise the combined score of the weighted
    /// out-of-fold predictions (PAPER.md, "Ensemble").
    public static func ensembleWeights(_ predictions: [(probabilities: [[Float]], valence: [Float])], dataset: FusionDataset,
                                       labels: Int, step: Float = 0.05) -> (weights: [Float], metrics: FusionMetrics) {
        let n = predictions.count
        var best: (weights: [Float], metrics: FusionMetrics)?
        let steps = Int((1 / step).rounded())
        func evaluate(_ k: [Float]) {
            var p = [[Float]](repeating: [Float](repeating: 0, count: labels), count: dataset.count)
            var v = [Float](repeating: 0, count: dataset.count)
            for (m, prediction) in predictions.enumerated() where k[m] > 0 {
                for r in 0..<dataset.count {
                    for c in 0..<labels { p[r][c] += k[m] * prediction.probabilities[r][c] }
                    v[r] += k[m] * prediction.valence[r]
                }
            }
            let metrics = FusionMetrics(trueLabels: dataset.labels, predictedLabels: p.argmaxRows, trueValence: dataset.valence,
                                        predictedValence: v, labelCount: labels)
            if best == nil || metrics.combined > best!.metrics.combined { best = (k, metrics) }
        }
        // Every point of the simplex grid.
        func walk(_ prefix: [Int], remaining: Int) {
            if prefix.count == n - 1 {
                evaluate((prefix + [remaining]).map { Float($0) / Float(steps) })
                return
            }
            for i in 0...remaining { walk(prefix + [i], remaining: remaining - i) }
        }
        walk([], remaining: steps)
        return best!
    }

    /// Adam (Kingma & Ba) with L2 weight decay added to the gradient, as torch.optim.Adam does;
    /// leaves every gradient reading as zero for the next step (`Parameter.gradientIsZero`).
    static func adam(_ parameters: [Parameter], step: Int, options: FusionTrainingOptions) {
        let (beta1, beta2, epsilon): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        let correction1 = 1 - Foundation.pow(beta1, Float(step))
        let correction2 = 1 - Foundation.pow(beta2, Float(step))
        let rate = options.learningRate
        for p in parameters {
            // A parameter no operation read this step has a zero gradient: weight decay alone.
            p.gradient.withUnsafeBufferPointer { g in
                nk_adam(&p.value, p.gradientIsZero ? nil : g.baseAddress, &p.firstMoment, &p.secondMoment, p.value.count,
                        rate, beta1, beta2, epsilon, options.weightDecay, correction1, correction2)
            }
            p.gradientIsZero = true
        }
    }
}
