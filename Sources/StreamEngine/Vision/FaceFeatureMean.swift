/// Running means of the face encoders' embeddings over a span of frames (an utterance, a
/// clip): the paper averages frame embeddings into one vector per clip.
public struct FaceFeatureMean: Sendable {
    private var sums: [String: [Double]] = [:]
    /// Frames whose face was encoded.
    public private(set) var faceFrames = 0
    /// Frames looked at without an encodable face (none, too small, turned, poor fit).
    public private(set) var missingFrames = 0

    public init() {}

    /// Adds one analysed frame.
    public mutating func add(_ analysis: FaceAnalysis) {
        guard let face = analysis.primary, !face.encodings.isEmpty else {
            missingFrames += 1
            return
        }
        faceFrames += 1
        for (name, encoding) in face.encodings {
            var sum = sums[name] ?? [Double](repeating: 0, count: encoding.embedding.count)
            for (i, value) in encoding.embedding.enumerated() { sum[i] += Double(value) }
            sums[name] = sum
        }
    }

    /// The mean embedding per feature name; empty when no frame had an encodable face.
    public var means: [String: [Float]] {
        guard faceFrames > 0 else { return [:] }
        return sums.mapValues { $0.map { Float($0 / Double(faceFrames)) } }
    }

    public mutating func reset() { self = FaceFeatureMean() }
}
