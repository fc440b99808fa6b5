import ArgumentParser
import Foundation
import MediaTypes
import MerdBench
import NeuralKit
import StreamEngine

/// `merd bench faces`: each stage of the face pipeline on 640×480 frames, at 1 and 2 threads.
struct BenchFaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Time each face-pipeline stage on 640x480 frames (a GRID clip scaled up), per thread count.",
        discussion: """
            Uses the visual models of the models directory (tools/fetch-default-models). ResNet-50, MA-Net and \
            EmotiEffLib's EfficientNet-B0 run with random weights made at bench time when resnet50-ferplus, \
            manet-rafdb or emotiefflib-enet-b0-va is not installed (the cost is the same).
            """)

    @OptionGroup var modelsOption: ModelsOption
    @OptionGroup var computeOptions: ComputeOptions

    @Option(help: "A video whose frames are scaled to 640x480.")
    var input: String = "../shared/data/grid/bbaf2n.mpg"

    @Option(help: "Compute thread counts, comma-separated.")
    var threads: String = "1,2"

    @Option(help: "Timed repeats per stage, after one warm-up.")
    var `repeat`: Int = 20

    func run() async throws {
        print(MachineDescription.current())
        let threadCounts = try CommaSeparated.values(threads, option: "--threads", what: "positive whole numbers, e.g. 1,2") { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        guard `repeat` > 0 else { throw CommandFailure.usage("--repeat takes a positive integer") }
        print(InstructionPeak.measure(threads: threadCounts.max() ?? 1))
        try computeOptions.apply()
        let visual: VisionModels
        do {
            visual = try VisionModels(directory: modelsOption.directory)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        let frames: [RGBImage]
        do {
            frames = try FaceBenchmark.frames(from: input)
        } catch let error as CaptureError {
            throw CommandFailure.usage(error.description)
        } catch {
            throw CommandFailure.runtime("\(error)")
        }
        // The kernels the encoders' convolutions run, where they are not on the process's backend.
        var encoders = ""
        if Compute.currentForEncoders != Compute.default {
            encoders = ", the CNN encoders \(Compute.currentForEncoders)"
            if Compute.currentForEncoders.backend == .oneDNN, case .success(let kernel) = OneDNN.convolutionImplementation { encoders += " (convolutions \(kernel))" }
        }
        let benchmark: FaceBenchmark
        do { benchmark = try FaceBenchmark(models: visual, frames: frames, repeats: `repeat`) } catch { throw CommandFailure.runtime(error.description) }
        print("merd faces: \(frames.count) frames of 640x480 from \(input); compute \(Compute.default)\(encoders); \(ComputeThreads.summary)")
        for count in threadCounts {
            let result: FaceBenchmarkResult
            let stolenBefore = StolenTime.now()
            do { result = try benchmark.run(threads: count) } catch { throw CommandFailure.runtime("\(input): \(error.description)") }
            let threadsLabel = "\(count) thread\(count == 1 ? "" : "s")"
            if let stolen = StolenTime.summary(since: stolenBefore) { print("merd faces \(threadsLabel): \(stolen) while the stages ran") }
            for stage in result.stages {
                print(String(format: "merd faces %@ %@: median %.2f ms", threadsLabel, stage.stage.rawValue, stage.medianMilliseconds))
            }
            let perFrame = result.pipelineMillisecondsPerFrame, everyFrame = result.detectingEveryFrameMilliseconds
            print(String(format: "merd faces %@ pipeline (track + landmarks + mini-Xception): %.2f ms a frame, %.0f frames/s; detecting every frame: %.2f ms, %.0f frames/s",
                         threadsLabel, perFrame, 1000 / perFrame, everyFrame, 1000 / everyFrame))
            print(String(format: "merd faces %@ pipeline with the default face model (track + landmarks + EmotiEffLib B0%@): %.2f ms a frame, CPU %.2f ms a frame; at 10 fps %.0f%% of one core",
                         threadsLabel, benchmark.miniXception == nil ? "" : " + mini-Xception", result.defaultPipelineMillisecondsPerFrame,
                         result.defaultPipelineCPUMillisecondsPerFrame, 100 * result.defaultCoreShare(framesPerSecond: 10)))
            for people in [1, 2, 4] {
                let (perFrame, faces, follow) = FaceBenchmark.people(people, models: visual, frames: frames)
                print(String(format: "merd faces %@ with %d %@ in view (tracking, up to 4 faces, landmarks + mini-Xception each): %.2f ms a frame, %.1f faces analysed a frame; "
                             + "their mouths followed in a frame between (landmarks only): %.2f ms",
                             threadsLabel, people, people == 1 ? "person" : "people", perFrame, faces, follow))
            }
        }
    }
}
