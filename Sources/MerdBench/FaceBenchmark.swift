import MediaTypes
import NeuralKit
import StreamEngine

/// Each stage of the face pipeline timed on 640×480 frames (`merd bench faces`): the median of
/// timed repeats after a warm-up, on the first frame; then the pipeline as the engine runs it
/// over all frames.
package struct FaceBenchmark {
    /// A timed stage, its raw value the label the command prints.
    package enum Stage: String, Sendable, CaseIterable {
        case detection = "detection (MTCNN, min face 60 px)"
        case tracking = "tracking (O-Net on the last face)"
        case landmarks = "landmarks (68-point trees)"
        case grey = "grey for landmarks"
        case alignment = "alignment (64 and 224 crops)"
        case miniXception = "mini-Xception"
        case resNet50 = "ResNet-50"
        case maNet = "MA-Net"
        case boxCrop = "box crop (224, Pillow bilinear)"
        case efficientNetB0 = "EfficientNet-B0 (EmotiEffLib enet_b0_8_va_mtl)"
    }

    package static let width = 640, height = 480

    package let models: VisionModels
    /// 640×480, as a webcam's (``frames(from:)``); stages are timed on the first.
    package let frames: [RGBImage]
    /// Timed repeats per stage, after one warm-up.
    package let repeats: Int
    package let miniXception: (any FaceEncoder)?
    let resNet50: any FaceEncoder
    let maNet: any FaceEncoder
    let efficientNetB0: any FaceEncoder

    /// ResNet-50, MA-Net and EmotiEffLib's B0 run with random weights (``RandomFaceEncoders``)
    /// when `models` lacks them: the cost is the same.
    package init(models: VisionModels, frames: [RGBImage], repeats: Int = 20) throws(BenchmarkError) {
        precondition(!frames.isEmpty && repeats > 0, "frames and repeats are needed")
        self.models = models
        self.frames = frames
        self.repeats = repeats
        miniXception = models.encoders.first { $0 is MiniXception }
        // The random ones are created as VisionModels creates installed ones (`largeCNN`).
        func random<E>(_ make: () throws(BenchmarkError) -> E) throws(BenchmarkError) -> E {
            try Compute.withSettings(Compute.currentForEncoders) { Result { () throws(BenchmarkError) in try make() } }.get()
        }
        if let installed = models.encoders.first(where: { $0 is ResNet50FER }) { resNet50 = installed } else { resNet50 = try random(RandomFaceEncoders.resNet50) }
        if let installed = models.encoders.first(where: { $0 is MANet }) { maNet = installed } else { maNet = try random(RandomFaceEncoders.maNet) }
        if let installed = models.encoders.first(where: { $0.featureName == "EN" }) {
            efficientNetB0 = installed
        } else {
            efficientNetB0 = try random(RandomFaceEncoders.emotiEffLibB0)
        }
    }

    /// The frames of the video at `path`, scaled to 640×480.
    package static func frames(from path: String) throws -> [RGBImage] {
        let images = BenchmarkVideo.scaled(try BenchmarkVideo.frames(path), width: width, height: height)
        guard !images.isEmpty else { throw BenchmarkError.noVideoFrames(path: path) }
        return images
    }

    /// Every stage at `threads` compute threads (OpenBLAS's and OpenMP's, `ComputeThreads`).
    package func run(threads: Int) throws(BenchmarkError) -> FaceBenchmarkResult {
        ComputeThreads.configure(threads)
        var pipeline = models.makePipeline()
        let image = frames[0]
        let detector = pipeline.detector.with(minimumFaceSize: max(20, Double(image.height) * pipeline.options.minimumFaceFraction))
        guard let face = pipeline.analyze(image).primary else { throw .noFaceInFirstFrame }
        let grey = image.dlibIntensity()
        var stages: [FaceBenchmarkResult.StageTiming] = []
        func time(_ stage: Stage, _ body: () -> Void) {
            body()
            var samples: [Double] = []
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                body()
                samples.append((ContinuousClock.now - start).seconds * 1000)
            }
            stages.append(.init(stage: stage, medianMilliseconds: samples.sorted()[samples.count / 2]))
        }
        let box = (x1: face.detection.x1, y1: face.detection.y1, x2: face.detection.x2, y2: face.detection.y2)
        time(.detection) { _ = detector.detect(image) }
        time(.tracking) { _ = detector.verify(image, around: box) }
        time(.landmarks) {
            _ = pipeline.landmarkPredictor.predict(intensity: grey, width: image.width, height: image.height, rectangle: face.rectangle)
        }
        time(.grey) { _ = image.dlibIntensity() }
        time(.alignment) {
            _ = pipeline.aligner.align(image, landmarks: face.landmarks, size: 64, margin: 0.1)
            _ = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: 0.2)
        }
        if let miniXception {
            let crop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 64, margin: miniXception.cropMargin)
            time(.miniXception) { _ = miniXception.encode(crop) }
        }
        let crop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: resNet50.cropMargin)
        time(.resNet50) { _ = resNet50.encode(crop) }
        let maNetCrop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: maNet.cropMargin)
        time(.maNet) { _ = maNet.encode(maNetCrop) }
        time(.boxCrop) { _ = pipeline.crop(image, detection: face.detection, landmarks: face.landmarks, for: efficientNetB0) }
        let boxCrop = pipeline.crop(image, detection: face.detection, landmarks: face.landmarks, for: efficientNetB0)
        time(.efficientNetB0) { _ = efficientNetB0.encode(boxCrop) }
        // The pipeline as the engine runs it, mini-Xception only (the default models): over
        // the clip, tracking between detections.
        var streaming = FacePipeline(detector: models.detector, landmarkPredictor: models.landmarkPredictor,
                                     encoders: miniXception.map { [$0] } ?? [])
        let start = ContinuousClock.now
        for frame in frames { _ = streaming.analyze(frame) }
        let perFrame = (ContinuousClock.now - start).seconds * 1000 / Double(frames.count)
        // And with the default face model too (EmotiEffLib's B0 before mini-Xception, as
        // `setup-and-run` installs them): wall time and the process's CPU time per frame, the
        // latter counting every compute thread.
        var withDefault = FacePipeline(detector: models.detector, landmarkPredictor: models.landmarkPredictor,
                                       encoders: [efficientNetB0] + (miniXception.map { [$0] } ?? []))
        let cpuStart = ProcessCPU.seconds, wallStart = ContinuousClock.now
        for frame in frames { _ = withDefault.analyze(frame) }
        let defaultPerFrame = (ContinuousClock.now - wallStart).seconds * 1000 / Double(frames.count)
        let defaultCPUPerFrame = (ProcessCPU.seconds - cpuStart) * 1000 / Double(frames.count)
        return FaceBenchmarkResult(threads: threads, stages: stages, pipelineMillisecondsPerFrame: perFrame,
                                   defaultPipelineMillisecondsPerFrame: defaultPerFrame, defaultPipelineCPUMillisecondsPerFrame: defaultCPUPerFrame)
    }
}

extension FaceBenchmark {
    /// The engine's pipeline (tracking, up to four faces, landmarks and mini-Xception on each)
    /// over frames showing `people` copies of the clip in one 640×480 frame: one as it is, two
    /// side by side at half scale, four in a 2×2 grid at half scale. Milliseconds per frame
    /// and the mean faces analysed per frame.
    package static func people(_ people: Int, models: VisionModels, frames: [RGBImage])
        -> (millisecondsPerFrame: Double, facesPerFrame: Double, followMillisecondsPerFrame: Double)
    {
        let composed = frames.map { compose($0, people: people) }
        var options = FacePipeline.Options()
        options.maximumFaces = 4
        var pipeline = FacePipeline(detector: models.detector, landmarkPredictor: models.landmarkPredictor,
                                    encoders: models.encoders.filter { $0 is MiniXception }, options: options)
        var faces = 0
        var following = Duration.zero
        let start = ContinuousClock.now
        for (index, frame) in composed.enumerated() {
            faces += pipeline.analyze(frame, time: Double(index) / 10).faces.count
            // The engine's frames between analysed ones: the mouths followed (timed apart).
            let followed = ContinuousClock.now
            _ = pipeline.followMouths(composed[(index + 1) % composed.count])
            following += ContinuousClock.now - followed
        }
        let perFrame = ((ContinuousClock.now - start) - following).seconds * 1000 / Double(composed.count)
        return (perFrame, Double(faces) / Double(composed.count), following.seconds * 1000 / Double(composed.count))
    }

    /// `frame` (640×480) repeated `people` times in a frame of its size.
    static func compose(_ frame: RGBImage, people: Int) -> RGBImage {
        guard people > 1 else { return frame }
        let half = BenchmarkVideo.scaled([frame], width: frame.width / 2, height: frame.height / 2)[0]
        let places = people == 2 ? [(0, frame.height / 4), (frame.width / 2, frame.height / 4)]
            : [(0, 0), (frame.width / 2, 0), (0, frame.height / 2), (frame.width / 2, frame.height / 2)]
        var pixels = [UInt8](repeating: 0, count: frame.width * frame.height * 3)
        for (left, top) in places.prefix(people) {
            for y in 0..<half.height {
                let source = y * half.width * 3, target = ((top + y) * frame.width + left) * 3
                pixels.replaceSubrange(target..<(target + half.width * 3), with: half.pixels[source..<(source + half.width * 3)])
            }
        }
        return RGBImage(width: frame.width, height: frame.height, pixels: pixels)
    }
}

/// One thread count's timings of ``FaceBenchmark``.
package struct FaceBenchmarkResult: Sendable, Equatable {
    package struct StageTiming: Sendable, Equatable {
        package let stage: FaceBenchmark.Stage
        package let medianMilliseconds: Double
    }

    package let threads: Int
    /// In the order they were timed; mini-Xception only when it is installed.
    package let stages: [StageTiming]
    /// Track + landmarks + mini-Xception over all frames, per frame.
    package let pipelineMillisecondsPerFrame: Double
    /// Track + landmarks + EmotiEffLib's B0 (+ mini-Xception when installed), per frame: wall
    /// time, and the process's CPU time (all threads).
    package let defaultPipelineMillisecondsPerFrame: Double
    package let defaultPipelineCPUMillisecondsPerFrame: Double

    /// The share of one core the default face path takes at `framesPerSecond`.
    package func defaultCoreShare(framesPerSecond: Double) -> Double { defaultPipelineCPUMillisecondsPerFrame * framesPerSecond / 1000 }

    /// The median of `stage`, when it was timed.
    package func milliseconds(_ stage: FaceBenchmark.Stage) -> Double? {
        stages.first { $0.stage == stage }?.medianMilliseconds
    }

    /// A frame's cost without tracking: detection, landmarks and mini-Xception.
    package var detectingEveryFrameMilliseconds: Double {
        [.detection, .landmarks, .miniXception].compactMap(milliseconds).reduce(0, +)
    }
}
