import Foundation

/// Emotion probabilities over the labels and the top one; on the wire
/// `{"label": top, "probs": {label: probability}}`, probabilities to 3 places.
public struct EmotionEstimate: Sendable, Equatable, Codable {
    /// The labels, in the model's order (decoded from a line: sorted, as the line has them).
    public let labels: [String]
    /// One per label.
    public let probabilities: [Float]
    /// The most probable label. Stored, not recomputed, so that a decoded estimate keeps the
    /// line's `label` even where rounding made two probabilities equal.
    public let top: String

    public init(labels: [String], probabilities: [Float]) {
        precondition(!labels.isEmpty && labels.count == probabilities.count,
                     "an estimate has one probability per label (\(labels.count) labels, \(probabilities.count) probabilities)")
        self.labels = labels
        self.probabilities = probabilities
        top = labels[probabilities.indices.max { probabilities[$0] < probabilities[$1] }!]
    }

    /// 1 − normalised entropy of the posterior: 1 when certain, 0 when uniform.
    public var confidence: Float {
        let entropy = probabilities.reduce(Float(0)) { $0 - ($1 > 0 ? $1 * Foundation.log($1) : 0) }
        return 1 - entropy / Foundation.log(Float(labels.count))
    }

    /// The probability of `label`, if it is one of the labels.
    public func probability(of label: String) -> Float? {
        labels.firstIndex(of: label).map { probabilities[$0] }
    }

    /// Whether every probability is a number: one that is not makes the whole estimate null.
    var isFinite: Bool { probabilities.allSatisfy(\.isFinite) }

    private enum CodingKeys: String, CodingKey {
        case label, probs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let probs = try container.decode([String: Double].self, forKey: .probs)
        labels = probs.keys.sorted()
        probabilities = labels.map { Float(probs[$0]!) }
        top = try container.decode(String.self, forKey: .label)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(top, forKey: .label)
        var probs = container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .probs)
        for (label, probability) in zip(labels, probabilities) {
            try probs.encode(Double(probability).rounded(scale: 1000), forKey: AnyCodingKey(label))
        }
    }
}
