import Benchmark
import MediaTypes
import CaptureFile
import Foundation

/// Decode + RGB conversion per frame, as the capture side pays it: a 640×480 MJPEG webcam
/// frame (a clip made here by ffmpeg, as a camera would send it) and a GRID frame (MPEG-1,
/// 360×288) from ../shared/data. Reported in microseconds per frame.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, perFrame],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(4),
        maxIterations: 30)

    let mjpeg = NSTemporaryDirectory() + "merd-bench-640x480.avi"
    if !FileManager.default.fileExists(atPath: mjpeg) {
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=30", "-t", "2",
                            "-c:v", "mjpeg", "-q:v", "5", mjpeg]
        try? ffmpeg.run()
        ffmpeg.waitUntilExit()
    }
    let grid = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/data/grid/bbaf2n.mpg").path

    for (name, path) in [("MJPEG 640x480 → RGB", mjpeg), ("GRID MPEG-1 360x288 → RGB", grid)] {
        Benchmark("decode + convert, \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                let reader = try VideoFileReader(path: path)
                var frames = 0
                let elapsed = ContinuousClock().measure {
                    while (try? reader.nextFrame()) ?? nil != nil { frames += 1 }
                }
                benchmark.measurement(perFrame, Int(elapsed.seconds / Double(max(frames, 1)) * 1e6))
            }
        }
    }
}

let perFrame = BenchmarkMetric.custom("µs per frame", polarity: .prefersSmaller, useScalingFactor: false)
