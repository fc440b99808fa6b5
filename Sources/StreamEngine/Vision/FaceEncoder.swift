import NeuralKit

/// What a FER encoder says about one aligned face.
public struct FaceEncoding: Sendable {
    /// The feature vector the fusion models take (e.g. 2048-d for ResNet-FER, "RF").
    public var embedding: [Float]
    /// Class probabilities in the order of the encoder's `labels`.
    public var probabilities: [Float]
}

/// A face crop, aligned and sized for one encoder, before the encoder's own normalisation:
/// RGB values 0…255, row-major HWC.
public struct AlignedFace: Sendable {
    public let size: Int
    /// size × size × 3 values.
    public let rgb: [Float]

    public init(size: Int, rgb: [Float]) {
        precondition(rgb.count == size * size * 3, "aligned face of side \(size) with \(rgb.count) values")
        self.size = size
        self.rgb = rgb
    }
}


/// A facial-expression encoder: the crop side it wants, how much of the face the crop holds,
/// its class labels and the width of its embedding.
public protocol FaceEncoder: Sendable {
    /// The feature name fusion models know it by (`RF`, `MR`, …).
    var featureName: String { get }
    /// Side of the square crop the encoder reads.
    var inputSize: Int { get }
    /// Margin around the landmark-defined face, as a fraction of its size, that the encoder's
    /// training crops had.
    var cropMargin: Double { get }
    var labels: [String] { get }
    var embeddingSize: Int { get }
    func encode(_ face: AlignedFace) -> FaceEncoding
}

extension FaceEncoder {
    /// `featureName` as a fusion input's name.
    public var feature: FeatureName { .visual(featureName) }
}
