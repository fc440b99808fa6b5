import Foundation
import NeuralKit
@testable import FusionTraining
import StreamEngine
import Testing

/// Valence that follows the emotion class: each class has its own mean valence and each clip
/// scatters around it (σ 0.8), while the class is easy to read from the features. The best
/// any model can do is the class means, an MSE of σ² = 0.64; a model that reads the class
/// (weighted F1 ~1) should come near it.
@Suite("Fusion training: valence learns", .serialized)
struct ValenceLearningTests {
    static let classValence: [Float] = [0, -3, 3, -2.5, -1.5, 1.5]  // neutral, angry, happy, sad, worried, surprise

    /// `count` clips of three 32-wide inputs (HL19, HL20, RF): each a class centre plus unit
    /// noise, the centres ~3 apart, so the class is clear from every input.
    static func dataset(count: Int, seed: UInt64) -> FusionDataset {
        var random = SplitMix64(seed: seed)
        func normal() -> Float {
            let u1 = max(Float.random(in: 0..<1, using: &random), 1e-7), u2 = Float.random(in: 0..<1, using: &random)
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        let width = 32
        var centres: [String: [[Float]]] = [:]
        for input in ["HL19", "HL20", "RF"] {
            centres[input] = (0..<6).map { _ in (0..<width).map { _ in 0.6 * normal() } }
        }
        var labels: [Int] = [], valence: [Float] = [], features: [String: [Float]] = [:]
        for _ in 0..<count {
            let label = Int(random.next() % 6)
            labels.append(label)
            valence.append(Self.classValence[label] + 0.8 * normal())
            for (input, centre) in centres {
                features[input, default: []] += centre[label].map { $0 + normal() }
            }
        }
        return FusionDataset(names: (0..<count).map { "clip\($0)" }, labels: labels, valence: valence, features: features,
                             sizes: Dictionary(uniqueKeysWithValues: centres.keys.map { ($0, width) }))
    }

    @Test("valence per class plus noise: out-of-fold JDEV valence near the predicted-class-mean baseline, the class still read", arguments: [FusionHead.jdev, .plain])
    func classMeans(head: FusionHead) throws {
        // crossValidate trains the folds side by side on one BLAS thread each.
        let data = Self.dataset(count: 900, seed: 7)
        var options = FusionTrainingOptions()
        options.epochs = 40
        options.folds = 3
        let architecture = FusionArchitecture(inputs: data.inputs, structure: .parallel, head: head)
        let results = try FusionTrainer.crossValidate(architecture, dataset: data, options: options)
        let oof = FusionTrainer.outOfFold(results, count: data.count, labels: 6)
        let predicted = oof.probabilities.argmaxRows
        let merd = FusionMetrics(trueLabels: data.labels, predictedLabels: predicted, trueValence: data.valence,
                                 predictedValence: oof.valence, labelCount: 6)
        // The baseline of issue 21: each clip gets the mean valence, over its fold's training
        // clips, of the class the model predicted for it.
        var baselineValence = [Float](repeating: 0, count: data.count)
        for result in results {
            let validation = Set(result.validationIndices)
            var sums = [Float](repeating: 0, count: 6), counts = [Float](repeating: 0, count: 6)
            for i in 0..<data.count where !validation.contains(i) {
                sums[data.labels[i]] += data.valence[i]
                counts[data.labels[i]] += 1
            }
            for i in result.validationIndices { baselineValence[i] = sums[predicted[i]] / max(counts[predicted[i]], 1) }
        }
        let baseline = FusionMetrics(trueLabels: data.labels, predictedLabels: predicted, trueValence: data.valence,
                                     predictedValence: baselineValence, labelCount: 6).valenceMSE
        // The bound: each clip's own class mean.
        let bound = zip(data.labels, data.valence).map { (label, value) in Double((value - Self.classValence[label]) * (value - Self.classValence[label])) }
            .reduce(0, +) / Double(data.count)
        print(String(format: "valence learning, %@ head, 900 clips, 3 folds × 40 epochs: F1 %.3f, valence MSE %.3f = %.2f × the predicted-class-mean baseline %.3f (class-mean bound %.3f)",
                     head.rawValue, merd.weightedF1, merd.valenceMSE, merd.valenceMSE / baseline, baseline, bound))
        // Before the fix (valence trained on [-5, 5], no branch dropout): F1 0.97, valence MSE
        // 1.13–1.16 with JDEV, 0.99–1.01 plain, against a baseline of ~0.7.
        #expect(merd.weightedF1 >= 0.95, "the class is easy here: \(merd)")
        switch head {
        case .jdev:
            // Issue 21's bar.
            #expect(merd.valenceMSE <= baseline * 1.15, "valence MSE \(merd.valenceMSE) against the baseline \(baseline)")
        case .plain:
            // No emotion branch: valence is a linear read-out of the fused vector, which keeps
            // within-class feature noise; reported, and held near where it was before the fix
            // (0.99–1.03 in runs so far; the folds' thread timing moves it by a few hundredths).
            #expect(merd.valenceMSE <= 1.2, "valence MSE \(merd.valenceMSE)")
        }
    }
}
