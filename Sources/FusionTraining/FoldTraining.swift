import Foundation
import NeuralKit
import StreamEngine

/// One fold's training in progress: its parameters, Adam's moments, its random stream and the
/// best epoch so far, advanced an epoch at a time, so that cross-validation can hand a fold
/// from one worker thread to another between epochs (`FoldSchedule`).
///
/// `@unchecked Sendable`: its parameters and tapes are classes without locks; one worker at a
/// time holds a fold, and the schedule's lock hands it over (its release happens before the
/// next worker's take).
final class FoldTraining: @unchecked Sendable {
    let architecture: FusionArchitecture
    let training: FusionDataset
    let validation: FusionDataset
    let options: FusionTrainingOptions
    let validationIndices: [Int]
    private let network: FusionNetwork
    private let parameters: [String: Parameter]
    /// The parameters in the network's fixed order (Adam's).
    private let ordered: [Parameter]
    private var random: SplitMix64
    private var step = 0
    private(set) var epochsDone = 0
    private var best: (score: Double, epoch: Int, values: [String: [Float]], metrics: FusionMetrics, p: [[Float]], v: [Float])?
    private let audioNames: Set<String>

    /// Epochs a fold trains: at least one, so every fold has a best epoch.
    static func epochs(_ options: FusionTrainingOptions) -> Int { max(1, options.epochs) }
    var epochs: Int { Self.epochs(options) }
    var isFinished: Bool { epochsDone >= epochs }

    init(_ architecture: FusionArchitecture, training: FusionDataset, validation: FusionDataset, options: FusionTrainingOptions,
         validationIndices: [Int] = []) throws(FusionError) {
        var architecture = architecture
        architecture.valenceScale = architecture.head == .jdev ? options.valenceScale : 1
        let network = FusionNetwork(architecture: architecture)
        try network.validate()
        for input in architecture.inputs where training.sizes[input.name] != input.size {
            throw .invalidArchitecture("input \(input.name) of size \(input.size) is not in the dataset (it has \(training.sizes))")
        }
        self.architecture = architecture
        self.training = training
        self.validation = validation
        self.options = options
        self.validationIndices = validationIndices
        self.network = network
        parameters = network.initialParameters(seed: options.seed)
        ordered = network.parameterShapes.map { [parameters] in parameters[$0.0]! }
        random = SplitMix64(seed: options.seed &+ 0x5EED)
        audioNames = Set(architecture.audioInputs.map(\.name))
    }

    /// One epoch: a pass over the training clips in mini-batches, then the score on the
    /// validation clips (kept if it is the best so far).
    func runEpoch() throws(FusionError) {
        precondition(!isFinished, "the fold has trained all its epochs")
        var order = Array(0..<training.count)
        order.shuffle(using: &random)
        for start in stride(from: 0, to: order.count, by: options.batchSize) {
            trainStep(Array(order[start..<min(start + options.batchSize, order.count)]))
        }
        epochsDone += 1
        let values = Dictionary(uniqueKeysWithValues: ordered.map { ($0.name, $0.shapedValue) })
        let model = try FusionModel(architecture: architecture, values: values)
        let (p, v) = model.predict(validation.features, rows: validation.count)
        let metrics = FusionMetrics(trueLabels: validation.labels, predictedLabels: p.argmaxRows, trueValence: validation.valence,
                                    predictedValence: v, labelCount: architecture.labels.count)
        if best == nil || metrics.combined > best!.score {
            best = (metrics.combined, epochsDone, values, metrics, p, v)
        }
    }

    private func trainStep(_ batch: [Int]) {
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
        FusionTrainer.adam(ordered, step: step, options: options)
    }

    /// Every epoch left, then the result.
    func trainToEnd() throws(FusionError) -> FusionFoldResult {
        while !isFinished { try runEpoch() }
        return try result()
    }

    /// The parameters of the best epoch, and their scores and predictions on the validation clips.
    func result() throws(FusionError) -> FusionFoldResult {
        guard let best else { preconditionFailure("no epoch trained") }
        return FusionFoldResult(model: try FusionModel(architecture: architecture, values: best.values), bestEpoch: best.epoch,
                                validationMetrics: best.metrics, validationIndices: validationIndices,
                                probabilities: best.p, valence: best.v)
    }
}

/// Which fold a free worker trains next, an epoch at a time: the one with the fewest epochs
/// done among those no worker holds (the lowest-numbered on a tie).
///
/// Whole folds dealt to workers left one core idle at the end: 5 folds on 2 cores ran as
/// 2 + 2 + 1, the last fold alone, a sixth of the wall time wasted (and a third of it, with
/// 3 folds). Dealing epochs instead keeps every worker busy until the last epoch or so; a fold
/// keeps its own parameters, random stream and order of work, whichever thread runs it, so
/// the models are the same bit for bit. An epoch streams a fold's parameters, gradients and
/// moments many times over, so moving to another fold between epochs costs the caches
/// nothing worth counting (unlike time-sharing all folds at once, which was measured worse).
struct FoldSchedule: Equatable {
    private(set) var epochsDone: [Int]
    let epochs: Int
    private(set) var held: Set<Int> = []
    /// Folds that failed: not dealt again.
    private(set) var abandoned: Set<Int> = []

    init(folds: Int, epochs: Int) {
        epochsDone = Array(repeating: 0, count: folds)
        self.epochs = epochs
    }

    var isComplete: Bool { epochsDone.indices.allSatisfy { epochsDone[$0] >= epochs || abandoned.contains($0) } }

    /// The fold to train an epoch of, now held; nil when none is free.
    mutating func take() -> Int? {
        let free = epochsDone.indices.filter { epochsDone[$0] < epochs && !held.contains($0) && !abandoned.contains($0) }
        guard let fold = free.min(by: { (epochsDone[$0], $0) < (epochsDone[$1], $1) }) else { return nil }
        held.insert(fold)
        return fold
    }

    /// The epoch of `fold` is done (or it failed: `abandoned`), and the fold free again.
    mutating func release(_ fold: Int, failed: Bool = false) {
        precondition(held.contains(fold), "fold \(fold) was not taken")
        held.remove(fold)
        if failed { abandoned.insert(fold) } else { epochsDone[fold] += 1 }
    }
}
