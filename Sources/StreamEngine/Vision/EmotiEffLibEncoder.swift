import Foundation
import NeuralKit

/// EmotiEffLib's AffectNet face models (sb-ai-lab/EmotiEffLib, Apache-2.0; Savchenko's
/// HSEmotion): EfficientNets fine-tuned on AffectNet from face-recognition backbones —
/// `enet_b0_8_va_mtl` (B0, 10 outputs: eight expression logits, then valence and arousal) and
/// `enet_b2_8` (B2, eight logits). Run as `emotiefflib/facial_analysis.py`
/// (`EmotiEffLibRecognizerTorch`) runs them:
///
/// - Input: the detector's box cut from the frame (`frame[y1:y2, x1:x2]` of an MTCNN box, in
///   its tests and examples; AffectNet's training faces are cut from annotated boxes the same
///   way), not an aligned face — hence `crop == .detectorBox`.
/// - `transforms.Resize((s, s))` (PIL bilinear, aspect not kept; s = 224 for B0, 260 for B2:
///   `img_size`), `ToTensor()`, `Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224,
///   0.225])` — read from the model's `config.json` (`pretrained_cfg`), which must say so.
/// - The features are the pooled vector before the classifier (`model.classifier =
///   Identity()`: 1280-d for B0, 1408-d for B2); merd's feature `EN` (B0) or `EN2` (B2).
/// - Multi-task heads (`"_mtl" in model_name`): `scores[:, :-2]` are the expression logits,
///   `scores[:, -2]` valence and `scores[:, -1]` arousal, raw linear outputs. They were fitted
///   (concordance loss) to AffectNet's valence and arousal annotations, which lie in [-1, 1]
///   (`training_and_examples/affectnet/train_emotions-pytorch.ipynb`, "Multi-task"); nothing
///   bounds them, so a value can stray a little outside.
/// - Probabilities: softmax over the expression logits (`classify_emotions(…, logits=False)`).
///
/// The folder (`KnownFaceEncoder`) holds the weights with timm's tensor names (see
/// ``EfficientNet``): EmotiEffLib's own `.pt` as published (a `torch.save` of the whole timm
/// model, read through the restricted unpickler), installed as `model.pt`, or a
/// `model.safetensors` export; and timm's `config.json` (which `merd models fetch` writes, since
/// EmotiEffLib publishes none): `architecture` (`tf_efficientnet_b0`: EmotiEffLib
/// fine-tuned `tf_efficientnet_b0_ns`, so TensorFlow padding), `num_classes`, `label_names`
/// (one per output; outputs named `valence` and `arousal` are those heads) and
/// `pretrained_cfg` (`input_size`, `mean`, `std`, `interpolation` bilinear, `crop_pct` 1).
public struct EmotiEffLibEncoder: FaceEncoder {
    public let network: EfficientNet
    public let configuration: TimmConfiguration
    public let featureName: String
    public let inputSize: Int
    /// Not used: the crop is the detector's box, with no margin.
    public let cropMargin = 0.0
    public let crop = FaceCrop.detectorBox
    /// The expression classes, lower-cased (`anger`, `contempt`, …), in the logits' order.
    public let labels: [String]
    public var embeddingSize: Int { network.featureCount }
    /// Outputs that are expression logits, in order.
    let classOutputs: [Int]
    let valenceOutput: Int?
    let arousalOutput: Int?
    let mean: [Float]
    let standardDeviation: [Float]

    /// AffectNet's expression classes in EmotiEffLib's order (`idx_to_emotion_class` for the
    /// 8-class models).
    public static let affectNetLabels = ["Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise"]
    /// AffectNet's valence and arousal scale, which the multi-task heads were trained on.
    public static let affectNetScale: ClosedRange<Float> = -1...1

    public var affectScale: ClosedRange<Float>? { valenceOutput == nil && arousalOutput == nil ? nil : Self.affectNetScale }

    /// Reads the weights at `path` and the `config.json` beside it; the encoder's
    /// embedding is the fusion input `featureName`.
    public init(path: String, featureName: String) throws(VisionModelError) {
        let configPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json").path
        let configuration = try Self.configuration(at: configPath)
        try self.init(path: path, configuration: configuration, configPath: configPath, featureName: featureName)
    }

    /// Reads the weights at `path` as described by `configuration` (`configPath`
    /// names it in errors).
    public init(path: String, configuration: TimmConfiguration, configPath: String = "config.json", featureName: String) throws(VisionModelError) {
        func invalid(_ reason: String) -> VisionModelError { .invalidManifest(file: configPath, reason: reason) }
        guard let architecture = EfficientNet.Architecture(timmName: configuration.architecture) else {
            throw invalid("architecture \(configuration.architecture): merd runs timm's efficientnet_b0/b2 and tf_efficientnet_b0/b2")
        }
        let preprocessing = configuration.preprocessing
        guard preprocessing.inputSize.count == 3, preprocessing.inputSize[0] == 3, preprocessing.inputSize[1] == preprocessing.inputSize[2],
              preprocessing.inputSize[1] > 0 else {
            throw invalid("pretrained_cfg.input_size \(preprocessing.inputSize): expected [3, s, s]")
        }
        guard preprocessing.mean.count == 3, preprocessing.standardDeviation.count == 3, preprocessing.standardDeviation.allSatisfy({ $0 > 0 }) else {
            throw invalid("pretrained_cfg.mean and std need three values each (std positive)")
        }
        if let interpolation = preprocessing.interpolation, interpolation != "bilinear" {
            throw invalid("pretrained_cfg.interpolation \(interpolation): merd resizes faces bilinearly, as EmotiEffLib does")
        }
        if let fraction = preprocessing.cropFraction, fraction != 1 {
            throw invalid("pretrained_cfg.crop_pct \(fraction): merd resizes the whole face box (crop_pct 1), as EmotiEffLib does")
        }
        guard let names = configuration.labelNames, names.count == configuration.classCount else {
            throw invalid("label_names must name each of the \(configuration.classCount) outputs (num_classes)")
        }
        let lowered = names.map { $0.lowercased() }
        let valence = lowered.firstIndex(of: "valence"), arousal = lowered.firstIndex(of: "arousal")
        let classes = lowered.indices.filter { $0 != valence && $0 != arousal }
        guard !classes.isEmpty, lowered.filter({ $0 == "valence" || $0 == "arousal" }).count == [valence, arousal].compactMap({ $0 }).count else {
            throw invalid("label_names \(names): expected class names, and at most one valence and one arousal")
        }

        var reader = try StrictCheckpoint(path: path, model: "EmotiEffLib \(architecture.name)")
        let network = try EfficientNet(architecture: architecture, reader: &reader)
        try reader.finish()
        guard network.outputCount == configuration.classCount else {
            throw .inconsistent(file: path, reason: "the classifier has \(network.outputCount) outputs, \(configPath) says num_classes \(configuration.classCount)")
        }
        if let features = configuration.featureCount, features != network.featureCount {
            throw .inconsistent(file: path, reason: "conv_head gives \(network.featureCount) features, \(configPath) says num_features \(features)")
        }
        self.network = network
        self.configuration = configuration
        self.featureName = featureName
        inputSize = preprocessing.inputSize[1]
        labels = classes.map { lowered[$0] }
        classOutputs = classes
        valenceOutput = valence
        arousalOutput = arousal
        mean = preprocessing.mean
        standardDeviation = preprocessing.standardDeviation
    }

    static func configuration(at path: String) throws(VisionModelError) -> TimmConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missingFile(path: path, model: "EmotiEffLib configuration") }
        do {
            return try JSONDecoder().decode(TimmConfiguration.self, from: data)
        } catch {
            throw .invalidManifest(file: path, reason: "\(error)")
        }
    }

    /// ToTensor and Normalize of an RGB crop 0…255, in their order of operations: [1, 3, s, s].
    func normalized(_ face: AlignedFace) -> Tensor {
        let plane = face.size * face.size
        return Tensor(shape: [1, 3, face.size, face.size]) { x in
            face.rgb.withUnsafeBufferPointer { rgb in
                for c in 0..<3 {
                    let (m, s) = (mean[c], standardDeviation[c])
                    for i in 0..<plane { x[c * plane + i] = (rgb[3 * i + c] / 255 - m) / s }
                }
            }
        }
    }

    public func encode(_ face: AlignedFace) -> FaceEncoding {
        precondition(face.size == inputSize, "EmotiEffLib \(network.architecture.name) reads \(inputSize)×\(inputSize) faces, got \(face.size)")
        let (features, outputs) = network(normalized(face))
        let scores = outputs.scalars
        let logits = Tensor(shape: [classOutputs.count], scalars: classOutputs.map { scores[$0] })
        return FaceEncoding(embedding: features.scalars, probabilities: logits.softmax().scalars,
                            valence: valenceOutput.map { scores[$0] }, arousal: arousalOutput.map { scores[$0] })
    }
}
