import FusionTraining
import MediaCodec
import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// The paper's clip features of a media file — HuBERT states mean-pooled over the clip
/// (`HL<k>`), each face encoder's embedding averaged over the frames with a usable face — with
/// optional corruption: speech noise mixed in at an SNR, an image corruption on every frame.
struct ClipFeatureExtractor {
    let speech: HuBERT?
    let visual: VisionModels?
    let layers: [Int]
    /// Analyse every this many frames.
    let every: Int

    struct Corruption {
        var snr: Double?
        var noise: [Float] = []
        var noiseOffset = 0
        var image: ImageCorruption?
    }

    struct Clip {
        var features: [String: [Float]] = [:]
        var faceFrames = 0
        var missingFrames = 0
        /// The SNR the mix reached on the speech, when noise was added.
        var measuredSNR: Double?
    }

    /// A clip's decoded 16 kHz audio (empty without an audio stream), kept so that copies of it
    /// are not decoded again.
    static func audio(_ path: String) throws -> [Float] {
        do {
            return try AudioFileReader.decodeMono16k(path)
        } catch {
            if case .noStream = error { return [] }
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
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

    func extract(_ path: String, audio: [Float], corruption: Corruption = Corruption()) throws -> Clip {
        var clip = Clip()
        do {
            if let speech, !audio.isEmpty {
                var samples = audio
                if let snr = corruption.snr, !corruption.noise.isEmpty {
                    let ranges = NoiseMixer.speechRanges(audio)
                    let (mixed, noise) = NoiseMixer.mix(speech: audio, noise: corruption.noise, snr: snr, ranges: ranges,
                                                        offset: corruption.noiseOffset)
                    samples = mixed
                    clip.measuredSNR = NoiseMixer.measuredSNR(speech: audio, noise: noise, ranges: ranges)
                }
                let pooled = try speech.pooledHiddenStates(audio: samples, layers: layers)
                for (layer, tensor) in pooled { clip.features["HL\(layer)"] = tensor.scalars }
            }
            if let visual {
                var pipeline = visual.makePipeline()
                var mean = FaceFeatureMean()
                let reader = try Self.videoReader(path)
                var index = 0
                while let frame = try reader?.nextFrame() {
                    defer { index += 1 }
                    guard index % every == 0, var image = RGBImage(frame) else { continue }
                    if let corruption = corruption.image { image = corruption.apply(to: image) }
                    mean.add(pipeline.analyze(image))
                }
                for encoder in visual.encoders { clip.features[encoder.featureName] = mean.means[encoder.featureName] ?? [] }
                (clip.faceFrames, clip.missingFrames) = (mean.faceFrames, mean.missingFrames)
            }
        } catch let error as CaptureError {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        } catch let error as HuBERTError {
            throw CommandFailure.runtime("\(path): \(error.description)")
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure.runtime("\(path): \(error)")
        }
        return clip
    }
}

/// Noise recordings to mix under speech: every file FFmpeg reads in a directory, at 16 kHz mono.
struct NoiseLibrary {
    let recordings: [(name: String, samples: [Float])]

    init(directory: String) throws {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { !$0.hasPrefix(".") }
        } catch {
            throw CommandFailure.usage("\(directory): cannot list the noise directory (\(error.localizedDescription))")
        }
        var recordings: [(String, [Float])] = []
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            // Files FFmpeg cannot read as audio (a README, a picture) are skipped, not fatal.
            guard let samples = try? ClipFeatureExtractor.audio(path), samples.count >= 1600,
                  samples.contains(where: { $0 != 0 }) else { continue }
            recordings.append((file, samples))
        }
        guard !recordings.isEmpty else {
            throw CommandFailure.usage("\(directory) holds no audio recordings of at least 0.1 s that FFmpeg reads")
        }
        self.recordings = recordings
    }

    /// A recording and a start offset in it, drawn at random.
    func draw(using random: inout some RandomNumberGenerator) -> (samples: [Float], offset: Int) {
        let recording = recordings.randomElement(using: &random)!
        return (recording.samples, Int.random(in: 0..<recording.samples.count, using: &random))
    }
}
