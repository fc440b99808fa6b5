import MerdEvents

/// What the face stage says of a span of frames on its own: its posterior folded onto the
/// event labels and averaged, its own classes' probabilities averaged (when they are not the
/// event labels), and its valence and arousal averaged, each over the frames that have it.
struct FaceSpanEstimate {
    var emotion: EmotionEstimate?
    var ownProbabilities: [String: Float]?
    var valence: Float?
    var arousal: Float?

    init(entries: [VisualTimeline.Entry], labels: [String]) {
        let folded = entries.compactMap { entry in entry.probabilities.flatMap { VisualEstimate.fold($0, labels: entry.labels, onto: labels) } }
        if !folded.isEmpty {
            emotion = EmotionEstimate(labels: labels, probabilities: Self.mean(folded))
        }
        let own = entries.filter { $0.probabilities != nil && $0.labels != labels }
        if let first = own.first, own.allSatisfy({ $0.labels == first.labels }) {
            ownProbabilities = Dictionary(uniqueKeysWithValues: zip(first.labels, Self.mean(own.compactMap(\.probabilities))))
        }
        let valences = entries.compactMap(\.valence), arousals = entries.compactMap(\.arousal)
        valence = valences.isEmpty ? nil : valences.reduce(0, +) / Float(valences.count)
        arousal = arousals.isEmpty ? nil : arousals.reduce(0, +) / Float(arousals.count)
    }

    private static func mean(_ rows: [[Float]]) -> [Float] {
        (0..<rows[0].count).map { i in rows.map { $0[i] }.reduce(0, +) / Float(rows.count) }
    }
}
