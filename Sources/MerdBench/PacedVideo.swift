import Locking
import MediaTypes
import StreamEngine
import Synchronization

/// Pictures looped at 25 fps as a camera would deliver them, each at its time on the pacer's
/// clock; a frame the consumer is too late for is skipped, as a camera's latest-wins queue
/// would, and counted.
package final class PacedVideo: VideoSource {
    package static let framesPerSecond = 25

    /// Looped: frame `i` shows `images[i % images.count]`.
    package let images: [RGBImage]
    /// Frame 0 is due at the pacer's start.
    package let pacer: RealTimePacer
    /// How long the camera runs.
    package let seconds: Double
    package var name: String { "bench:video" }
    private let dropped = Atomic<Int>(0)

    /// Frames skipped because the consumer was more than a frame period late for them.
    package var droppedFrames: Int { dropped.load(ordering: .relaxed) }

    package init(images: [RGBImage], pacer: RealTimePacer, seconds: Double) {
        precondition(!images.isEmpty, "a looped video needs a picture")
        self.images = images
        self.pacer = pacer
        self.seconds = seconds
    }

    package func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let images = images, pacer = pacer, rate = Self.framesPerSecond
        let count = Int(seconds * Double(rate)), period = MediaDuration(seconds: 1 / Double(rate))
        let index = Locked(0)
        return AsyncThrowingStream { [self] in
            while true {
                let i = index.withLock { i -> Int in defer { i += 1 }; return i }
                guard i < count else { return nil }
                guard let time = try await pacer.frame(at: MediaTime(seconds: Double(i) / Double(rate)), period: period) else {
                    dropped.add(1, ordering: .relaxed)
                    continue
                }
                let image = images[i % images.count]
                return try VideoFrame(packed: image.pixels, width: image.width, height: image.height, format: .rgb24, time: time)
            }
        }
    }
}
