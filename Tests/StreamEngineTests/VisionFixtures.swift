import Foundation
import NeuralKit
@testable import StreamEngine
import TestSupport
import Testing

/// The committed fixtures of `tools/make_vision_fixtures.py`, and the pretrained models when a
/// models directory holds them.
enum VisionFixtures {
    static func path(_ name: String) -> String { TestPaths.fixture("vision/\(name)") }

    static let reference: SafeTensorsFile = try! SafeTensorsFile(path: path("reference.safetensors"))
    static let pretrained: SafeTensorsFile = try! SafeTensorsFile(path: path("pretrained_reference.safetensors"))

    /// The GRID frames the references were computed on (bbaf2n.mpg frames 0, 30, 60).
    static func frame(_ index: Int) -> RGBImage {
        let raw = try! reference.rawBytes("frames")
        let size = 360 * 288 * 3
        return RGBImage(width: 360, height: 288, pixels: Array(raw[(index * size)..<((index + 1) * size)]))
    }

    /// An I64 tensor's values.
    static func integers(_ name: String) throws -> [Int] {
        let raw = try reference.rawBytes(name)
        return (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
    }

    /// NHWC (Keras, TensorFlow) → NCHW.
    static func planar(_ nhwc: Tensor) -> Tensor {
        let (n, h, w, c) = (nhwc.shape[0], nhwc.shape[1], nhwc.shape[2], nhwc.shape[3])
        let v = nhwc.scalars
        return Tensor(shape: [n, c, h, w]) { out in
            for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
                out[((b * c + k) * h + y) * w + x] = v[((b * h + y) * w + x) * c + k]
            } } } }
        }
    }

    /// The models directory the CLI would use, when it holds the default visual models
    /// (`tools/fetch-default-models`); tests of the pretrained models run only then.
    static let modelsDirectory: String? = TestPaths.pretrainedModels

    /// Debian's landmark model (libdlib-data, installed by CI's package list).
    static let dlibModel = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

    static let landmarkPredictor: LandmarkPredictor = try! LandmarkPredictor(path: dlibModel)
}

/// |actual − expected| ≤ bound · max|expected|, comparing whole tensors so a transposed or
/// shifted result cannot pass. Returns the worst error relative to the scale.
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, relativeToScale bound: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Float {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return .infinity }
    let scale = max(expected.scalars.map(abs).max() ?? 0, .leastNormalMagnitude)
    let error = actual.maxAbsoluteDifference(expected)
    #expect(error <= bound * scale, "\(label): max abs error \(error), scale \(scale)", sourceLocation: sourceLocation)
    return error / scale
}

/// Named tolerances of the vision tests, relative to each tensor's largest value.
enum VisionTolerance {
    /// Resampling: a handful of float32 products and sums per value, in TensorFlow's order.
    static let resampling: Float = 1e-6
    /// Small CNNs (MTCNN, mini-Xception): float32 convolutions whose sums NeuralKit's GEMM and
    /// TensorFlow's kernels order differently; a few hundred terms per value over 4–12 layers.
    static let network: Float = 1e-4
    /// ResNet-50's 53 convolutions, batch norms folded into the weights: rounding compounds
    /// over depth, still far below any change a bug would make.
    static let deepNetwork: Float = 5e-4
}
