import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// `merd bench faces`: each stage of the face pipeline on 640×480 frames, at 1 and 2 threads.
struct BenchFaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Time each face-pipeline stage on 640x480 frames (a GRID clip scaled up), per thread count.",
        discussion: """
            Uses the visual models of the models directory (tools/fetch-default-models). ResNet-50 runs with \
            random weights made at bench time when resnet50-ferplus is not installed (the cost is the same).
            """)

    @OptionGroup var modelsOption: ModelsOption

    @Option(help: "A video whose frames are scaled to 640x480.")
    var input: String = "../shared/data/grid/bbaf2n.mpg"

    @Option(help: "Compute thread counts, comma-separated.")
    var threads: String = "1,2"

    @Option(help: "Timed repeats per stage, after one warm-up.")
    var `repeat`: Int = 20

    func run() async throws {
        let threadCounts = try CommaSeparated.values(threads, option: "--threads", what: "positive whole numbers, e.g. 1,2") { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        guard `repeat` > 0 else { throw CommandFailure.usage("--repeat takes a positive integer") }
        let visual: VisionModels
        do {
            visual = try VisionModels(directory: modelsOption.directory)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        let frames = try Self.frames(input)
        let resnet = try visual.encoders.first { $0 is ResNet50FER } ?? Self.randomResNet()
        let manet = try visual.encoders.first { $0 is MANet } ?? Self.randomMANet()
        let miniXception = visual.encoders.first { $0 is MiniXception }
        print("merd faces: \(frames.count) frames of 640x480 from \(input); OpenBLAS \(BLAS.coreName)")
        for count in threadCounts {
            BLAS.threadCount = count
            var pipeline = visual.makePipeline()
            let image = frames[0]
            let detector = pipeline.detector.with(minimumFaceSize: max(20, Double(image.height) * pipeline.options.minimumFaceFraction))
            guard let face = pipeline.analyze(image).primary else { throw CommandFailure.runtime("\(input): no face in the first frame") }
            let grey = image.dlibIntensity()
            func time(_ label: String, _ body: () -> Void) -> Double {
                body()
                var samples: [Double] = []
                for _ in 0..<`repeat` {
                    let start = ContinuousClock.now
                    body()
                    samples.append((ContinuousClock.now - start).seconds * 1000)
                }
                let median = samples.sorted()[samples.count / 2]
                print(String(format: "merd faces %d thread%@ %@: median %.2f ms", count, count == 1 ? "" : "s", label, median))
                return median
            }
            let box = (x1: face.detection.x1, y1: face.detection.y1, x2: face.detection.x2, y2: face.detection.y2)
            let detection = time("detection (MTCNN, min face 60 px)") { _ = detector.detect(image) }
            _ = time("tracking (O-Net on the last face)") { _ = detector.verify(image, around: box) }
            let landmarks = time("landmarks (68-point trees)") {
                _ = pipeline.landmarkPredictor.predict(intensity: grey, width: image.width, height: image.height, rectangle: face.rectangle)
            }
            _ = time("grey for landmarks") { _ = image.dlibIntensity() }
            _ = time("alignment (64 and 224 crops)") {
                _ = pipeline.aligner.align(image, landmarks: face.landmarks, size: 64, margin: 0.1)
                _ = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: 0.2)
            }
            var encoderTime = 0.0
            if let miniXception {
                let crop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 64, margin: miniXception.cropMargin)
                encoderTime = time("mini-Xception") { _ = miniXception.encode(crop) }
            }
            let crop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: resnet.cropMargin)
            _ = time("ResNet-50") { _ = resnet.encode(crop) }
            let manetCrop = pipeline.aligner.align(image, landmarks: face.landmarks, size: 224, margin: manet.cropMargin)
            _ = time("MA-Net") { _ = manet.encode(manetCrop) }
            // The pipeline as the engine runs it, mini-Xception only (the default models): over
            // the clip, tracking between detections.
            var streaming = FacePipeline(detector: visual.detector, landmarkPredictor: visual.landmarkPredictor,
                                         encoders: miniXception.map { [$0] } ?? [])
            let start = ContinuousClock.now
            for frame in frames { _ = streaming.analyze(frame) }
            let perFrame = (ContinuousClock.now - start).seconds * 1000 / Double(frames.count)
            print(String(format: "merd faces %d thread%@ pipeline (track + landmarks + mini-Xception): %.2f ms a frame, %.0f frames/s; detecting every frame: %.2f ms, %.0f frames/s",
                         count, count == 1 ? "" : "s", perFrame, 1000 / perFrame, detection + landmarks + encoderTime, 1000 / (detection + landmarks + encoderTime)))
        }
    }

    /// The video's frames scaled (uniformly, centred) to 640×480.
    static func frames(_ path: String) throws -> [RGBImage] {
        do {
            let reader = try VideoFileReader(path: path)
            var images: [RGBImage] = []
            while let frame = try reader.nextFrame(), let image = RGBImage(frame) {
                let scale = Double(image.height) / 480
                let toSource = SimilarityTransform(a: scale, b: 0, tx: (Double(image.width) - 640 * scale) / 2, ty: 0)
                images.append(image.resampled(toSource, width: 640, height: 480))
            }
            guard !images.isEmpty else { throw CommandFailure.runtime("\(path): no video frames") }
            return images
        } catch let error as CaptureError {
            throw CommandFailure.usage(error.description)
        }
    }

    /// Random weights for a checkpoint, written by name: convolutions He-scaled, batch norms
    /// neutral, linear layers small.
    struct RandomCheckpoint {
        var tensors: [(name: String, tensor: Tensor)] = []
        var random = SystemRandomNumberGenerator()

        mutating func conv(_ name: String, _ out: Int, _ inputs: Int, _ k: Int, norm: String) {
            let scale = Float(2 / Double(inputs * k * k)).squareRoot()
            tensors.append((name + ".weight", Tensor(shape: [out, inputs, k, k], scalars: (0..<(out * inputs * k * k)).map { _ in Float.random(in: -scale...scale, using: &random) })))
            for (field, value) in [("weight", Float(1)), ("bias", 0), ("running_mean", 0), ("running_var", 1)] {
                tensors.append(("\(norm).\(field)", Tensor(shape: [out], repeating: value)))
            }
        }

        mutating func linear(_ name: String, _ out: Int, _ inputs: Int) {
            tensors.append((name + ".weight", Tensor(shape: [out, inputs], scalars: (0..<(out * inputs)).map { _ in Float.random(in: -0.05...0.05, using: &random) })))
            tensors.append((name + ".bias", Tensor(shape: [out])))
        }

        /// Written to a temporary file and read back by `load`, the real loader.
        func loaded<Model>(_ load: (String) throws -> Model) throws -> Model {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("merd-bench-\(UUID().uuidString).safetensors").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                try SafeTensorsWriter.write(tensors, to: path)
                return try load(path)
            } catch {
                throw CommandFailure.runtime("random model for the benchmark: \(error)")
            }
        }
    }

    /// MA-Net at full width with random weights.
    static func randomMANet() throws -> MANet {
        var c = RandomCheckpoint()
        c.conv("conv1", 64, 3, 7, norm: "bn1")
        func basic(_ base: String, _ inputs: Int, _ out: Int, attention: Bool) {
            c.conv("\(base).conv1", out, inputs, 3, norm: "\(base).bn1")
            c.conv("\(base).conv2", out, out, 3, norm: "\(base).bn2")
            if inputs != out {
                c.conv("\(base).downsample.0", out, inputs, 1, norm: "\(base).downsample.1")
            }
            if attention {
                c.linear("\(base).cbam.ChannelGate.mlp.1", out / 16, out)
                c.linear("\(base).cbam.ChannelGate.mlp.3", out, out / 16)
                c.conv("\(base).cbam.SpatialGate.spatial.conv", 1, 2, 7, norm: "\(base).cbam.SpatialGate.spatial.bn")
            }
        }
        basic("layer1.0", 64, 64, attention: false)
        basic("layer1.1", 64, 64, attention: false)
        basic("layer2.0", 64, 128, attention: false)
        basic("layer2.1", 128, 128, attention: false)
        for p in 1...4 {
            basic("layer3_1_p\(p).0", 128, 256, attention: true)
            basic("layer3_1_p\(p).1", 256, 256, attention: true)
            basic("layer4_1_p\(p).0", 256, 512, attention: true)
            basic("layer4_1_p\(p).1", 512, 512, attention: true)
        }
        for (layer, inputs, out) in [(3, 128, 256), (4, 256, 512)] {
            for block in 0..<2 {
                let base = "layer\(layer)_2.\(block)"
                let cin = block == 0 ? inputs : out
                c.conv("\(base).conv1", out, cin, 3, norm: "\(base).bn1")
                for path in 1...2 { for i in 1...4 { c.conv("\(base).conv\(path)_2_\(i)", out / 4, out / 4, 3, norm: "\(base).bn\(path)_2_\(i)") } }
                if block == 0 { c.conv("\(base).downsample.0", out, cin, 1, norm: "\(base).downsample.1") }
            }
        }
        c.linear("fc_1", 7, 512)
        c.linear("fc_2", 7, 512)
        return try c.loaded { try MANet(path: $0) }
    }

    /// ResNet-50 of resnet50_ferplus_dag's layout with random weights.
    static func randomResNet() throws -> ResNet50FER {
        var c = RandomCheckpoint()
        func conv(_ name: String, _ out: Int, _ inputs: Int, _ k: Int) { c.conv(name, out, inputs, k, norm: name + "_bn") }
        conv("conv1_7x7_s2", 64, 3, 7)
        var channels = 64
        for (stage, (width, count)) in zip(2...5, zip([64, 128, 256, 512], [3, 4, 6, 3])) {
            for block in 1...count {
                let base = "conv\(stage)_\(block)"
                conv("\(base)_1x1_reduce", width, channels, 1)
                conv("\(base)_3x3", width, width, 3)
                conv("\(base)_1x1_increase", 4 * width, width, 1)
                if block == 1 { conv("\(base)_1x1_proj", 4 * width, channels, 1) }
                channels = 4 * width
            }
        }
        c.tensors.append(("classifier.weight", Tensor(shape: [8, 2048, 1, 1], repeating: 0.01)))
        c.tensors.append(("classifier.bias", Tensor(shape: [8])))
        return try c.loaded { try ResNet50FER(path: $0) }
    }
}
