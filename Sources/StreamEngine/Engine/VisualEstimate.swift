/// The visual-only emotion estimate of `face` events: a FER encoder's class probabilities
/// folded onto MER 2023's six labels by meaning. It is the encoder's own judgement, relabelled,
/// not a trained mapping: anger, disgust and contempt read as angry, fear as worried.
enum VisualEstimate {
    /// FER class name → MER label.
    static let merLabel: [String: String] = [
        "neutral": "neutral", "angry": "angry", "anger": "angry", "disgust": "angry", "contempt": "angry",
        "happy": "happy", "happiness": "happy", "sad": "sad", "sadness": "sad", "fear": "worried",
        "surprise": "surprise",
    ]

    /// Probabilities over `merLabels` (classes without a counterpart are left out, the rest
    /// renormalised), or nil when the encoder's labels map to none of them.
    static func fold(_ probabilities: [Float], labels: [String], onto merLabels: [String]) -> [Float]? {
        var folded = [Float](repeating: 0, count: merLabels.count)
        for (label, p) in zip(labels, probabilities) {
            guard let target = merLabel[label], let index = merLabels.firstIndex(of: target) else { continue }
            folded[index] += p
        }
        let total = folded.reduce(0, +)
        guard total > 0 else { return nil }
        return folded.map { $0 / total }
    }
}
