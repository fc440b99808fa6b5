/// A face encoder merd can load: the folder of a models directory that holds its weights
/// (``ModelWeights``: `model.safetensors`, or a PyTorch checkpoint as published) and, for timm
/// models, `config.json`; the fusion input its embedding is; and its loader. Adding an encoder is one entry of `all`.
public struct KnownFaceEncoder: Sendable {
    /// The folder under the models directory (the name `tools/fetch-default-models` and the
    /// converters use).
    public let folder: String
    /// The fusion input the encoder's embedding is.
    public let feature: FeatureName
    /// A large CNN, created with `Compute.currentForEncoders` (on an AVX2-only CPU, oneDNN's
    /// convolutions where the rest runs on OpenBLAS); mini-Xception's small ones are not.
    public let largeCNN: Bool
    /// Reads the encoder from its weights file.
    public let load: @Sendable (_ path: String) throws(VisionModelError) -> any FaceEncoder

    /// Every known encoder, in the order the face pipeline runs them. The first one installed
    /// gives the visual-only estimate of `face` events: EmotiEffLib's multi-task B0 leads, since
    /// it alone also gives valence (and its eight AffectNet classes cover MER's six).
    public static let all: [KnownFaceEncoder] = [
        KnownFaceEncoder(folder: "emotiefflib-enet-b0-va", feature: .visual("EN"), largeCNN: true) { path throws(VisionModelError) in
            try EmotiEffLibEncoder(path: path, featureName: "EN")
        },
        KnownFaceEncoder(folder: "emotiefflib-enet-b2", feature: .visual("EN2"), largeCNN: true) { path throws(VisionModelError) in
            try EmotiEffLibEncoder(path: path, featureName: "EN2")
        },
        KnownFaceEncoder(folder: "mini-xception-fer2013", feature: .visual(MiniXception.featureName), largeCNN: false) { path throws(VisionModelError) in
            try MiniXception(path: path)
        },
        KnownFaceEncoder(folder: "resnet50-ferplus", feature: .visual(ResNet50FER.featureName), largeCNN: true) { path throws(VisionModelError) in
            try ResNet50FER(path: path)
        },
        KnownFaceEncoder(folder: "manet-rafdb", feature: .visual(MANet.featureName), largeCNN: true) { path throws(VisionModelError) in
            try MANet(path: path)
        },
    ]

    /// The encoder whose embedding is `feature`, if merd knows one.
    public static func encoder(for feature: FeatureName) -> KnownFaceEncoder? {
        all.first { $0.feature == feature }
    }
}
