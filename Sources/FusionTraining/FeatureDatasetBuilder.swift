import NeuralKit
import StreamEngine

/// A fusion feature dataset built from media files: one row per clip and, with augmentation,
/// per corrupted copy (`CLIP#aug<k>`), one [rows × size] tensor per feature. A clip without a
/// usable face gets zeros in the visual tensors, as the MER 2023 baseline does (and one
/// without an audio stream zeros in the speech tensors).
package struct FeatureDatasetBuilder {
    /// How many corrupted copies of each clip, drawn from `plan`, with speech noise from `noise`.
    package struct Augmentation {
        package var plan: AugmentationPlan
        package var copies: Int
        package var noise: NoiseLibrary?

        package init(plan: AugmentationPlan, copies: Int, noise: NoiseLibrary?) {
            self.plan = plan
            self.copies = copies
            self.noise = noise
        }
    }

    /// A row as added: its name, its features and the corruption it was computed under.
    package struct Row {
        package let name: ClipName
        package let clip: ClipFeatureExtractor.Clip
        package let corruption: ClipFeatureExtractor.Corruption
    }

    package let extractor: ClipFeatureExtractor
    package let augmentation: Augmentation?
    private var random: SplitMix64
    /// Row names in row order.
    package private(set) var rowNames: [ClipName] = []
    /// Each row's features; empty values where an encoder saw no usable face.
    private var rowFeatures: [[FeatureName: [Float]]] = []

    package init(extractor: ClipFeatureExtractor, augmentation: Augmentation?, seed: UInt64) {
        self.extractor = extractor
        self.augmentation = augmentation
        random = SplitMix64(seed: seed)
    }

    /// Adds the clip `name` from the file at `path`, then its copies; returns the rows added.
    package mutating func add(_ name: ClipName, path: String) throws(ClipFeatureError) -> [Row] {
        let audio = extractor.speech == nil ? [] : try ClipFeatureExtractor.audio(path)
        var variants: [(name: ClipName, corruption: ClipFeatureExtractor.Corruption)] = [(name, .init())]
        if let augmentation {
            for copy in 1...max(1, augmentation.copies) {
                let corruption = ClipFeatureExtractor.Corruption.drawn(from: augmentation.plan, noise: augmentation.noise, using: &random)
                variants.append((ClipName(clip: name.clip, copy: copy), corruption))
            }
        }
        var rows: [Row] = []
        for variant in variants {
            let clip = try extractor.extract(path, audio: audio, corruption: variant.corruption)
            rowFeatures.append(clip.features)
            rowNames.append(variant.name)
            rows.append(Row(name: variant.name, clip: clip, corruption: variant.corruption))
        }
        return rows
    }

    /// One [rows × size] tensor per feature, sorted by name; a row without values (no usable
    /// face) is zeros, sized like the rows that had them. A feature no row had is left out.
    package var tensors: [(name: String, tensor: Tensor)] { Self.tensors(rowFeatures) }

    /// The [rows × size] tensors of `rowFeatures`, as `tensors` describes.
    package static func tensors(_ rowFeatures: [[FeatureName: [Float]]]) -> [(name: String, tensor: Tensor)] {
        let features = Set(rowFeatures.flatMap(\.keys)).sorted { $0.description < $1.description }
        return features.compactMap { feature in
            guard let size = rowFeatures.lazy.compactMap({ $0[feature] }).first(where: { !$0.isEmpty })?.count else { return nil }
            let matrix = rowFeatures.flatMap { row in
                row[feature].flatMap { $0.isEmpty ? nil : $0 } ?? [Float](repeating: 0, count: size)
            }
            return (feature.description, Tensor(shape: [rowFeatures.count, size], scalars: matrix))
        }
    }
}
