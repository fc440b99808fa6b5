import NeuralKit

/// What a FER encoder says about one face crop.
public struct FaceEncoding: Sendable {
    /// The feature vector the fusion models take (e.g. 2048-d for ResNet-FER, "RF").
    public var embedding: [Float]
    /// Class probabilities in the order of the encoder's `labels`.
    public var probabilities: [Float]
    /// Valence on the encoder's own scale (`FaceEncoder.affectScale`); nil for an encoder
    /// without a valence output.
    public var valence: Float?
    /// Arousal on the same scale; nil for an encoder without an arousal output.
    public var arousal: Float?

    public init(embedding: [Float], probabilities: [Float], valence: Float? = nil, arousal: Float? = nil) {
        self.embedding = embedding
        self.probabilities = probabilities
        self.valence = valence
        self.arousal = arousal
    }
}

/// Which picture of the face an encoder reads: what its training faces were.
public enum FaceCrop: Sendable, Equatable {
    /// Aligned to the landmark template (rotation, scale, shift), `cropMargin` around the
    /// face: for encoders trained on aligned faces (FER2013, FER+, RAF-DB).
    case aligned
    /// The detector's box as it is, cut on whole pixels, neither aligned nor widened, stretched
    /// to the square by PIL's bilinear resize: what EmotiEffLib feeds its models (an MTCNN box,
    /// `frame[y1:y2, x1:x2]`, then torchvision's `Resize`), and what AffectNet's training
    /// faces, cut from their annotated boxes, look like.
    case detectorBox
}

/// A face crop, aligned (or cut from the detector's box, per `FaceEncoder.crop`) and sized
/// for one encoder, before the encoder's own normalisation: RGB values 0…255, row-major HWC.
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
    /// Which crop the encoder reads (`.aligned` unless it says otherwise).
    var crop: FaceCrop { get }
    /// The range its valence and arousal outputs were trained on; nil without such outputs.
    var affectScale: ClosedRange<Float>? { get }
    func encode(_ face: AlignedFace) -> FaceEncoding
}

extension FaceEncoder {
    /// `featureName` as a fusion input's name.
    public var feature: FeatureName { .visual(featureName) }
    public var crop: FaceCrop { .aligned }
    public var affectScale: ClosedRange<Float>? { nil }
}
