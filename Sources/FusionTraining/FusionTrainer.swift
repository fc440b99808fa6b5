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
        var architecture = architecture
        architecture.valenceScale = architecture.head == .jdev ? options.valenceScale : 1
        let network = FusionNetwork(architecture: architecture)
        try network.validate()
        for input in architecture.inputs where training.sizes[input.name] != input.size {
            throw .invalidArchitecture("input \(input.name) of size \(input.size) is not in the dataset (it has \(training.sizes))")
        }
        let parameters = network.initialParameters(seed: options.seed)
        let ordered = network.parameterShapes.map { parameters[$0.0]! }
        var random = SplitMix64(seed: options.seed &+ 0x5EED)
        var step = 0
        var best: (score: Double, epoch: Int, values: [String: [Float]], metrics: FusionMetrics, p: [[Float]], v: [Float])?
        let audioNames = Set(architecture.audioInputs.map(\.name))
        for epoch in 1...max(1, options.epochs) {
            var order = Array(0..<training.count)
            order.shuffle(using: &random)
            for start in stride(from: 0, to: order.count, by: options.batchSize) {
                let batch = Array(order[start..<min(start + options.batchSize, order.count)])
                let tape = Tape(training: true, seed: random.next())
                var inputs: [String: Node] = [:]
                // Per clip, maybe one modality gone: zeros, as inference sees a missing one.
                let missing: [Bool?] = batch.map { _ in
                    Float.random(in: 0..<1, using: &random) < options.modalityDropout ? Bool.random(using: &random) : nil
                }
                for input in architecture.inputs {
                    var rows = [Float]()
                    rows.reserveCapacity(batch.count * input.size)
                    let values = training.features[input.name]!
                    for (b, i) in batch.enumerated() {
                        if let dropAudio = missing[b], dropAudio == audioNames.contains(input.name) {
                            rows += repeatElement(0, count: input.size)
                        } else {
                            rows += values[(i * input.size)..<((i + 1) * input.size)]
                        }
                    }
                    inputs[input.name] = tape.leaf(batch.count, input.size, rows, needsGradient: false)
                }
                let (emotion, valence) = network.forward(inputs, tape: tape, parameters: parameters,
                                                         valenceBranchDropout: options.valenceBranchDropout)
                let lossE = tape.crossEntropy(probabilities: emotion, labels: batch.map { training.labels[$0] })
                // A clip without a valence label (NaN: its corpus has none) adds nothing to L_v.
                let lossV = tape.meanSquaredError(valence, targets: batch.map { training.valence[$0] / architecture.valenceScale })
                let loss = tape.uncertaintyWeighted(emotion: lossE, valence: lossV, rho: parameters["rho"]!)
                // Gradients are zero here: at the start, and after each step Adam leaves them so.
                tape.backward(from: loss)
                step += 1
                adam(ordered, step: step, options: options)
            }
            let values = Dictionary(uniqueKeysWithValues: ordered.map { ($0.name, $0.shapedValue) })
            let model = try FusionModel(architecture: architecture, values: values)
            let (p, v) = model.predict(validation.features, rows: validation.count)
            let metrics = FusionMetrics(trueLabels: validation.labels, predictedLabels: p.argmaxRows, trueValence: validation.valence,
                                        predictedValence: v, labelCount: architecture.labels.count)
            if best == nil || metrics.combined > best!.score {
                best = (metrics.combined, epoch, values, metrics, p, v)
            }
        }
        return FusionFoldResult(model: try FusionModel(architecture: architecture, values: best!.values), bestEpoch: best!.epoch,
                                validationMetrics: best!.metrics, validationIndices: validationIndices,
                                probabilities: best!.p, valence: best!.v)
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
        @Sendable func trainFold(_ fold: Int) throws(FusionError) -> FusionFoldResult {
            let validation = order.enumerated().filter { $0.offset % folds == fold }.flatMap { groups[$0.element] }
            let training = order.enumerated().filter { $0.offset % folds != fold }.flatMap { groups[$0.element] }
            var foldOptions = options
            foldOptions.seed = options.seed &+ UInt64(fold) &* 1_000_003
            return try train(architecture, training: dataset.subset(training), validation: dataset.subset(validation),
                             options: foldOptions, validationIndices: validation)
        }
        let workers = min(folds, max(1, options.parallelFolds))
        guard workers > 1 else { return try (0..<folds).map { fold throws(FusionError) in try trainFold(fold) } }
        // A mini-batch's GEMMs (32 rows) are too small to share between threads: on 2 cores
        // and 2 BLAS threads, structure 1 on 3,000 clips took 30 s of wall time for 31 s of
        // user time (with OpenBLAS's workers spinning: 28.7 s wall, 33 s user, 24 s system).
        // Whole folds are independent, so each worker trains one on one thread of either
        // library (OpenBLAS's count is the process's; OpenMP's, oneDNN's, each thread's).
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = threads }
        let compute = Compute.current
        let results = Locked<[Int: Result<FusionFoldResult, FusionError>]>([:])
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let fold = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard fold < folds else { return }
                let result = ComputeThreads.withOpenMPThreads(1) {
                    Compute.withSettings(compute) { Result { () throws(FusionError) in try trainFold(fold) } }
                }
                results.withLock { $0[fold] = result }
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
