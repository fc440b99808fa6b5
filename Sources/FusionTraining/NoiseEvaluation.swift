import Foundation
import NeuralKit
import StreamEngine

/// A fusion ensemble scored on labelled media clean and under each corruption: the model's
/// inputs computed from the media once per condition (speech noise at an SNR, measured on the
/// speech; an image corruption on every frame), then MER 2023's metrics.
package struct NoiseEvaluation {
    /// One row of the table: its label and how each clip's corruption is drawn.
    package struct Condition: Sendable {
        package let label: String
        package let draw: @Sendable (inout SplitMix64) -> ClipFeatureExtractor.Corruption
    }

    package let ensemble: FusionEnsemble
    package let extractor: ClipFeatureExtractor
    package let clips: [(name: ClipName, path: String)]
    package let labels: LabelsCSV
    /// Each clip's decoded audio, decoded once for every condition.
    private let audio: [[Float]]

    /// - Precondition: `labels` has a row per clip, in the clips' order (`MediaClips.ordered`).
    package init(ensemble: FusionEnsemble, extractor: ClipFeatureExtractor, clips: [(name: ClipName, path: String)],
                 labels: LabelsCSV) throws(ClipFeatureError) {
        precondition(labels.names == clips.map(\.name.clip), "labels in the clips' order")
        self.ensemble = ensemble
        self.extractor = extractor
        self.clips = clips
        self.labels = labels
        var audio: [[Float]] = []
        for clip in clips { audio.append(extractor.speech == nil ? [] : try ClipFeatureExtractor.audio(clip.path)) }
        self.audio = audio
    }

    /// Clean first, then speech noise at each of `snrs` (dB) when there is `noise`, then each
    /// image corruption named (`ImageCorruption.names`).
    package static func conditions(noise: NoiseLibrary?, snrs: [Double], imageCorruptions: [String]) -> [Condition] {
        var conditions = [Condition(label: "clean") { _ in .init() }]
        if let noise {
            for snr in snrs {
                conditions.append(Condition(label: String(format: "speech noise %g dB", snr)) { random in
                    var corruption = ClipFeatureExtractor.Corruption(snr: snr)
                    (corruption.noise, corruption.noiseOffset) = noise.draw(using: &random)
                    return corruption
                })
            }
        }
        for name in imageCorruptions {
            conditions.append(Condition(label: "image \(name)") { random in .init(image: ImageCorruption.random(name, using: &random)) })
        }
        return conditions
    }

    /// The ensemble's metrics with every clip's features computed under `condition`, its
    /// draws seeded by `seed` (the same draws for every condition run with it). An input no
    /// frame of a clip gave (no usable face) is zeros, as in training.
    package func metrics(under condition: Condition, seed: UInt64) throws(ClipFeatureError) -> FusionMetrics {
        var random = SplitMix64(seed: seed)
        var rows: [String: [Float]] = [:]
        for (i, clip) in clips.enumerated() {
            let features = try extractor.extract(clip.path, audio: audio[i], corruption: condition.draw(&random)).features
            for input in ensemble.inputs {
                let values = input.feature.flatMap { features[$0] } ?? []
                guard values.isEmpty || values.count == input.size else {
                    throw .featureSize(path: clip.path, feature: input.feature!, found: values.count, expected: input.size)
                }
                rows[input.name, default: []] += values.isEmpty ? [Float](repeating: 0, count: input.size) : values
            }
        }
        let dataset = FusionDataset(names: labels.names, labels: labels.labels, valence: labels.valence, features: rows,
                                    sizes: Dictionary(uniqueKeysWithValues: ensemble.inputs.map { ($0.name, $0.size) }))
        let (p, v) = ensemble.predict(dataset.features, rows: dataset.count)
        return FusionMetrics(trueLabels: dataset.labels, predictedLabels: p.argmaxRows, trueValence: dataset.valence,
                             predictedValence: v, labelCount: ensemble.labels.count)
    }
}
