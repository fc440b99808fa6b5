import Foundation
import MediaTypes
import Synchronization

/// A recorded file as the engine's sources: its audio as an `AudioSource`, its video as a
/// `VideoSource`, both on one timeline (the file's presentation times).
///
/// - `.realTime`: replays as if live. Media time = the moment replay began (monotonic) + the
///   presentation time; each chunk or frame is delivered when that time comes. A video
///   consumer that falls behind skips to the frame due now (latest wins), counted.
/// - `.asFastAsPossible`: offline analysis. Media time = presentation time; decoding runs
///   as fast as the consumer takes the data, nothing is dropped.
public final class RecordedFile: Sendable {
    public enum Pacing: Sendable, Equatable { case realTime, asFastAsPossible }

    public let path: String
    public let pacing: Pacing
    /// When replay began, shared by the two sources so they stay aligned.
    private let origin = Mutex<MediaTime?>(nil)
    private let dropped = Atomic<Int>(0)

    public init(path: String, pacing: Pacing) {
        self.path = path
        self.pacing = pacing
    }

    /// The file's audio; fails when it is opened if the file has none.
    public var audio: FileAudioSource { FileAudioSource(file: self) }
    /// The file's video; fails when it is opened if the file has none.
    public var video: FileVideoSource { FileVideoSource(file: self) }

    /// Video frames skipped because the consumer was late (real-time pacing only).
    public var droppedFrames: Int { dropped.load(ordering: .relaxed) }

    /// Media time of presentation time `time`, and how long until it is due (zero when offline).
    func schedule(_ time: MediaTime) -> (mediaTime: MediaTime, wait: MediaDuration) {
        guard pacing == .realTime else { return (time, MediaDuration(nanoseconds: 0)) }
        let start = origin.withLock { origin in
            if origin == nil { origin = MediaTime.now() }
            return origin!
        }
        let due = MediaTime(nanoseconds: start.nanoseconds + time.nanoseconds)
        return (due, due - MediaTime.now())
    }

    func countDrop() { dropped.add(1, ordering: .relaxed) }
}

/// The audio of a `RecordedFile`.
public struct FileAudioSource: AudioSource {
    let file: RecordedFile
    public var name: String { file.path }

    public func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let reader = Unshared(try AudioFileReader(path: file.path))
        let file = self.file
        return AsyncThrowingStream {
            guard let chunk = try reader.value.nextChunk() else { return nil }
            let (time, wait) = file.schedule(chunk.time)
            // Replaying live, a chunk is delivered once its last sample would have been captured.
            if file.pacing == .realTime {
                let ready = wait + chunk.duration
                if ready.nanoseconds > 0 { try await Task.sleep(for: .nanoseconds(ready.nanoseconds)) }
            }
            return AudioChunk(samples: chunk.samples, sampleRate: chunk.sampleRate, channels: chunk.channels, time: time)
        }
    }
}

/// The video of a `RecordedFile`.
public struct FileVideoSource: VideoSource {
    let file: RecordedFile
    public var name: String { file.path }

    public func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let reader = Unshared(try VideoFileReader(path: file.path))
        let file = self.file
        let period = MediaDuration(seconds: 1 / (reader.value.framesPerSecond ?? 25))
        return AsyncThrowingStream {
            while var frame = try reader.value.nextFrame() {
                let (time, wait) = file.schedule(frame.time)
                // Late by more than a frame period: a newer frame is already due.
                if wait.nanoseconds < -period.nanoseconds {
                    file.countDrop()
                    continue
                }
                if wait.nanoseconds > 0 {
                    try await Task.sleep(for: .nanoseconds(wait.nanoseconds))
                    // Woken late (a loaded machine): if a newer frame is due by now, skip to it.
                    if (MediaTime.now() - time).nanoseconds > period.nanoseconds {
                        file.countDrop()
                        continue
                    }
                }
                frame.time = time
                return frame
            }
            return nil
        }
    }
}

/// A reader used by one stream's iteration at a time (AsyncThrowingStream calls its
/// producer serially), which is what makes the unchecked Sendable sound.
final class Unshared<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
