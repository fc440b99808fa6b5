import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// The paper's clip features of a media file — HuBERT states mean-pooled over the clip
/// (`HL<k>`), each face encoder's embedding averaged over the frames with a usable face — with
/// optional corruption: speech noise mixed in at an SNR, an image corruption on every frame.
package struct ClipFeatureExtractor: Sendable {
    package let speech: HuBERT?
    package let visual: VisionModels?
    package let layers: [Int]
    /// Analyse every this many frames.
    package let every: Int

    package init(speech: HuBERT?, visual: VisionModels?, layers: [Int], every: Int) {
        precondition(every >= 1, "every must be 1 or more")
        self.speech = speech
        self.visual = visual
        self.layers = layers
        self.every = every
    }

    /// What to do to a clip before its features are computed; the default does nothing.
    package struct Corruption {
        package var snr: Double?
        package var noise: [Float] = []
        package var noiseOffset = 0
        package var image: ImageCorruption?

        package init(snr: Double? = nil, image: ImageCorruption? = nil) {
            self.snr = snr
            self.image = image
        }

        /// One copy's corruption drawn from `plan`: its SNR and image corruption, then (with
        /// an SNR) a noise recording and offset from `noise`, in that order of draws.
        package static func drawn(from plan: AugmentationPlan, noise: NoiseLibrary?, using random: inout some RandomNumberGenerator) -> Corruption {
            let (snr, image) = plan.draw(using: &random)
            var corruption = Corruption(snr: snr, image: image)
            if snr != nil, let noise { (corruption.noise, corruption.noiseOffset) = noise.draw(using: &random) }
            return corruption
        }
    }

    /// One clip's features and what was seen computing them.
    package struct Clip: Sendable, Equatable {
        /// Empty values for an encoder when no frame had a usable face.
        package var features: [FeatureName: [Float]] = [:]
        package var faceFrames = 0
        package var missingFrames = 0
        /// The SNR the mix reached on the speech, when noise was added.
        package var measuredSNR: Double?
    }

    /// A clip's decoded 16 kHz audio (empty without an audio stream), kept so that copies of it
    /// are not decoded again.
    package static func audio(_ path: String) throws(ClipFeatureError) -> [Float] {
        do {
            return try AudioFileReader.decodeMono16k(path)
        } catch {
            if case .noStream = error { return [] }
            throw .media(error)
        }
    }

    /// The file's video, or nil for an audio-only clip (no faces: zero rows).
    static func videoReader(_ path: String) throws(CaptureError) -> VideoFileReader? {
        do {
            return try VideoFileReader(path: path)
        } catch {
            if case .noStream = error { return nil }
            throw error
        }
    }

    /// The features of the clip at `path`, whose decoded audio is `audio`.
    package func extract(_ path: String, audio: [Float], corruption: Corruption = Corruption()) throws(ClipFeatureError) -> Clip {
        var clip = Clip()
        if let speech, !audio.isEmpty {
            var samples = audio
            if let snr = corruption.snr, !corruption.noise.isEmpty {
                let ranges = NoiseMixer.speechRanges(audio)
                let (mixed, noise) = NoiseMixer.mix(speech: audio, noise: corruption.noise, snr: snr, ranges: ranges,
                                                    offset: corruption.noiseOffset)
                samples = mixed
                clip.measuredSNR = NoiseMixer.measuredSNR(speech: audio, noise: noise, ranges: ranges)
            }
            let pooled: [Int: Tensor]
            do { pooled = try speech.pooledHiddenStates(audio: samples, layers: layers) } catch { throw .speech(path: path, error) }
            for (layer, tensor) in pooled { clip.features[.speechLayer(layer)] = tensor.scalars }
        }
        if let visual {
            var pipeline = visual.makePipeline()
            var mean = FaceFeatureMean()
            do {
                let reader = try Self.videoReader(path)
                var index = 0
                while let frame = try reader?.nextFrame() {
                    defer { index += 1 }
                    guard index % every == 0, var image = RGBImage(frame) else { continue }
                    if let corruption = corruption.image { image = corruption.apply(to: image) }
                    mean.add(pipeline.analyze(image))
                }
            } catch {
                throw .media(error)
            }
            let means = mean.means
            for encoder in visual.encoders { clip.features[encoder.feature] = means[encoder.featureName] ?? [] }
            (clip.faceFrames, clip.missingFrames) = (mean.faceFrames, mean.missingFrames)
        }
        return clip
    }
}
