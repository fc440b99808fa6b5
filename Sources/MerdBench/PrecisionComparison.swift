import CaptureFile
import MediaTypes
import NeuralKit
import StreamEngine

/// How far BF16 moves what merd computes from F32 (`merd bench precision`): the same model
/// loaded twice, once per precision, on the same input.
package enum PrecisionComparison {
    /// One recording's pooled hidden state of one layer, BF16 against F32.
    package struct SpeechResult: Sendable {
        package let file: String
        package let layer: Int
        package let cosine: Double
        /// max |bf16 − f32| over the pooled vector, divided by max |f32|.
        package let relativeMaxError: Double
    }

    /// One encoder's class probabilities over the faces of a video, BF16 against F32.
    package struct FaceResult: Sendable {
        package let encoder: String
        package let faces: Int
        /// Total-variation distance ½ Σ |p − q| per face: mean and largest.
        package let meanDistance: Double
        package let maxDistance: Double
        /// Faces whose most probable class differs.
        package let changedTopClass: Int
    }

    /// Layers `layers`, pooled over each recording's frames (as an utterance's features are).
    package static func speech(f32: HuBERT, bf16: HuBERT, recordings: [(name: String, audio: [Float])],
                               layers: [Int]) throws(HuBERTError) -> [SpeechResult] {
        var results: [SpeechResult] = []
        for recording in recordings {
            let reference = try f32.pooledHiddenStates(audio: recording.audio, layers: layers)
            let reduced = try bf16.pooledHiddenStates(audio: recording.audio, layers: layers)
            for layer in layers {
                let a = reference[layer]!.scalars, b = reduced[layer]!.scalars
                results.append(SpeechResult(file: recording.name, layer: layer, cosine: cosine(a, b), relativeMaxError: relativeMaxError(b, reference: a)))
            }
        }
        return results
    }

    /// Each encoder pair (F32, BF16) on the primary face of every frame, aligned once with the
    /// F32 pipeline so that both read the same crop.
    package static func faces(pipeline: FacePipeline, pairs: [(name: String, f32: any FaceEncoder, bf16: any FaceEncoder)],
                              frames: [RGBImage]) -> [FaceResult] {
        var pipeline = pipeline
        var distances = [[Double]](repeating: [], count: pairs.count)
        var changed = [Int](repeating: 0, count: pairs.count)
        for image in frames {
            guard let face = pipeline.analyze(image).primary else { continue }
            for (index, pair) in pairs.enumerated() {
                let crop = pipeline.crop(image, detection: face.detection, landmarks: face.landmarks, for: pair.f32)
                let p = pair.f32.encode(crop).probabilities, q = pair.bf16.encode(crop).probabilities
                distances[index].append(0.5 * zip(p, q).reduce(0) { $0 + Double(abs($1.0 - $1.1)) })
                if argmax(p) != argmax(q) { changed[index] += 1 }
            }
        }
        return pairs.indices.map { index in
            let d = distances[index]
            return FaceResult(encoder: pairs[index].name, faces: d.count, meanDistance: d.isEmpty ? 0 : d.reduce(0, +) / Double(d.count),
                              maxDistance: d.max() ?? 0, changedTopClass: changed[index])
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            aa += Double(x) * Double(x)
            bb += Double(y) * Double(y)
        }
        return dot / max((aa * bb).squareRoot(), .leastNormalMagnitude)
    }

    static func relativeMaxError(_ actual: [Float], reference: [Float]) -> Double {
        let scale = reference.map { Double(abs($0)) }.max() ?? 0
        let error = zip(actual, reference).map { Double(abs($0 - $1)) }.max() ?? 0
        return error / max(scale, .leastNormalMagnitude)
    }

    private static func argmax(_ values: [Float]) -> Int {
        values.indices.max { values[$0] < values[$1] } ?? 0
    }
}
