/// MER 2023's metrics: weighted F1 over the labels ("Dis"), valence MSE ("Dim"), and the
/// combined score F1 − 0.25·MSE ("Com"). Clips without a valence label (NaN) are left out of
/// the MSE; with none labelled, the MSE is 0 and the combined score is the F1.
public struct FusionMetrics: Sendable, Equatable, CustomStringConvertible {
    public let weightedF1: Double
    public let valenceMSE: Double
    /// How many clips had a valence label.
    public let valenceClips: Int
    public var combined: Double { weightedF1 - 0.25 * valenceMSE }
    public let accuracy: Double

    /// As scikit-learn's `f1_score(average="weighted")`: per-label F1 weighted by the label's
    /// count among the true labels; a label never predicted has precision 0 (so F1 0).
    public init(trueLabels: [Int], predictedLabels: [Int], trueValence: [Float], predictedValence: [Float], labelCount: Int) {
        precondition(trueLabels.count == predictedLabels.count && trueValence.count == predictedValence.count, "prediction counts differ")
        var truePositives = [Double](repeating: 0, count: labelCount)
        var predicted = [Double](repeating: 0, count: labelCount)
        var support = [Double](repeating: 0, count: labelCount)
        for (t, p) in zip(trueLabels, predictedLabels) {
            support[t] += 1
            predicted[p] += 1
            if t == p { truePositives[t] += 1 }
        }
        var f1 = 0.0
        for k in 0..<labelCount where support[k] > 0 {
            let precision = predicted[k] > 0 ? truePositives[k] / predicted[k] : 0
            let recall = truePositives[k] / support[k]
            let score = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            f1 += score * support[k]
        }
        let total = Double(max(trueLabels.count, 1))
        weightedF1 = f1 / total
        accuracy = truePositives.reduce(0, +) / total
        var squared = 0.0, known = 0
        for (t, p) in zip(trueValence, predictedValence) where !t.isNaN {
            squared += Double(t - p) * Double(t - p)
            known += 1
        }
        valenceMSE = squared / Double(max(known, 1))
        valenceClips = known
    }

    public var description: String {
        guard valenceClips > 0 else { return String(format: "weighted F1 %.4f, no valence labels (accuracy %.4f)", weightedF1, accuracy) }
        return String(format: "weighted F1 %.4f, valence MSE %.4f, combined %.4f (accuracy %.4f)", weightedF1, valenceMSE, combined, accuracy)
    }
}

extension Array where Element == [Float] {
    /// Index of the largest value of each row.
    public var argmaxRows: [Int] {
        map { row in row.indices.max { row[$0] < row[$1] }! }
    }
}
