import MediaTypes
import MerdBench
import StreamEngine
import Testing

@Suite("Paced benchmark sources")
struct PacedSourceTests {
    @Test("audio: 20 ms chunks covering every sample, stamped on the pacer's clock")
    func audio() async throws {
        // Started 10 s ago: every chunk is due, so none waits.
        let pacer = RealTimePacer(start: MediaTime.now() + MediaDuration(seconds: -10))
        let samples = (0..<1000).map { Float($0) }
        var received: [Float] = []
        var times: [MediaTime] = []
        for try await chunk in try PacedAudio(samples: samples, pacer: pacer).chunks() {
            #expect(chunk.sampleRate == 16000 && chunk.channels == 1)
            times.append(chunk.time)
            received += chunk.samples
        }
        #expect(received == samples)
        #expect(times == [0, 320, 640, 960].map { pacer.start.advanced(bySamples: $0, sampleRate: 16000) })
    }

    @Test("video: looped pictures at 25 fps, each on its frame time and never before it; the rest counted as dropped")
    func video() async throws {
        let images = [RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 10, count: 12)),
                      RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 20, count: 12))]
        let pacer = RealTimePacer(start: MediaTime.now() + MediaDuration(milliseconds: 20))
        let camera = PacedVideo(images: images, pacer: pacer, seconds: 0.2)
        var indices: [Int] = []
        for try await frame in try camera.frames() {
            #expect(MediaTime.now() >= frame.time, "delivered when due")
            let offset = (frame.time - pacer.start).nanoseconds
            #expect(offset % 40_000_000 == 0, "on the 25 fps grid: \(offset) ns")
            let index = Int(offset / 40_000_000)
            #expect(frame.bytes[0] == (index % 2 == 0 ? 10 : 20), "frame \(index) shows picture \(index % 2)")
            indices.append(index)
        }
        // How many arrive in time depends on the machine; each of the five is one or the other.
        #expect(indices == indices.sorted() && Set(indices).count == indices.count && indices.allSatisfy { (0..<5).contains($0) })
        #expect(indices.count + camera.droppedFrames == 5, "\(indices) delivered, \(camera.droppedFrames) dropped")
    }

    @Test("video: frames long overdue are skipped, as a latest-wins camera queue would")
    func staleVideo() async throws {
        let image = RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 12))
        let pacer = RealTimePacer(start: MediaTime.now() + MediaDuration(seconds: -10))
        let camera = PacedVideo(images: [image], pacer: pacer, seconds: 1)
        var frames = 0
        for try await _ in try camera.frames() { frames += 1 }
        #expect(frames == 0 && camera.droppedFrames == 25)
    }
}
