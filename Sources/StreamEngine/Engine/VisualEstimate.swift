/// The visual-only emotion estimate of `face` events: a FER encoder's class probabilities
/// folded onto MER 2023's six labels by meaning, and its valence brought to merd's scale. It
/// is the encoder's own judgement, relabelled, not a trained mapping.
enum VisualEstimate {
    /// The one folding table: each FER class name (lower-cased) → MER label. The encoders'
    /// label sets, all covered:
    ///
    /// | dataset (encoder) | classes |
    /// | --- | --- |
    /// | FER2013 (mini-Xception, `MX`) | angry, disgust, fear, happy, sad, surprise, neutral |
    /// | FER+ (ResNet-50, `RF`) | neutral, happiness, surprise, sadness, anger, disgust, fear, contempt |
    /// | RAF-DB (MA-Net, `MR`) | neutral, happiness, sadness, surprise, fear, disgust, anger |
    /// | AffectNet (EmotiEffLib, `EN`, `EN2`) | anger, contempt, disgust, fear, happiness, neutral, sadness, surprise |
    ///
    /// Anger, disgust and contempt read as angry (MER has no disgust or contempt; all three are
    /// negative, approach-oriented displays), fear as worried, the rest by name.
    static let merLabel: [String: String] = [
        "neutral": "neutral",
        "angry": "angry", "anger": "angry", "disgust": "angry", "contempt": "angry",
        "happy": "happy", "happiness": "happy",
        "sad": "sad", "sadness": "sad",
        "fear": "worried",
        "surprise": "surprise",
    ]

    /// Probabilities over `merLabels` (classes without a counterpart are left out, the rest
    /// renormalised), or nil when the encoder's labels map to none of them.
    static func fold(_ probabilities: [Float], labels: [String], onto merLabels: [String]) -> [Float]? {
        var folded = [Float](repeating: 0, count: merLabels.count)
        for (label, p) in zip(labels, probabilities) {
            guard let target = merLabel[label.lowercased()], let index = merLabels.firstIndex(of: target) else { continue }
            folded[index] += p
        }
        let total = folded.reduce(0, +)
        guard total > 0 else { return nil }
        return folded.map { $0 / total }
    }

    /// merd's valence scale (MER 2023's annotations, `hello`'s `valence_range`).
    static let merValenceScale: ClosedRange<Float> = -5...5

    /// `value` on an encoder's `scale` (EmotiEffLib's: AffectNet's [-1, 1]) mapped linearly
    /// onto merd's [-5, 5] — for AffectNet, valence × 5 — and held inside it, since a
    /// regression head is not bounded.
    static func merValence(_ value: Float, from scale: ClosedRange<Float>) -> Float {
        let unit = (value - scale.lowerBound) / (scale.upperBound - scale.lowerBound)
        let mapped = merValenceScale.lowerBound + unit * (merValenceScale.upperBound - merValenceScale.lowerBound)
        return min(max(mapped, merValenceScale.lowerBound), merValenceScale.upperBound)
    }
}
