import Locking
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
    private let origin = Locked<RealTimePacer?>(nil)
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

    /// The clock of real-time replay, started by the first chunk or frame either source
    /// delivers; nil offline, where media time is the presentation time.
    func pacer() -> RealTimePacer? {
        guard pacing == .realTime else { return nil }
        return origin.withLock { pacer in
            if pacer == nil { pacer = RealTimePacer(start: MediaTime.now()) }
            return pacer
        }
    }

    func countDrop() { dropped.add(1, ordering: .relaxed) }

    private let damage = Locked<[String: StreamDamage]>([:])

    /// Each stream's damage, recorded when it ended.
    func record(_ stream: String, _ found: StreamDamage) {
        if !found.isEmpty { damage.withLock { $0[stream] = found } }
    }

    /// What was wrong with the file, once its streams have ended: damaged packets skipped and
    /// reading that stopped on an error (a truncated or corrupt recording); nil for a whole file.
    public var damageReport: String? {
        let found = damage.withLock { $0 }
        guard !found.isEmpty else { return nil }
        return found.sorted { $0.key < $1.key }.map { stream, damage in
            var parts: [String] = []
            if damage.packets > 0 { parts.append("\(damage.packets) damaged packet\(damage.packets == 1 ? "" : "s") skipped") }
            if let error = damage.endError { parts.append("reading stopped early (\(error))") }
            if damage.warnings > 0 { parts.append("FFmpeg reported \(damage.warnings) problem\(damage.warnings == 1 ? "" : "s") reading it") }
            return "\(stream): " + parts.joined(separator: ", ")
        }.joined(separator: "; ") + "; the file is truncated or damaged, and the results cover what could be read"
    }
}

/// The audio of a `RecordedFile`.
public struct FileAudioSource: AudioSource {
    let file: RecordedFile
    public var name: String { file.path }
    /// The recording's damage once its streams have ended (`RecordedFile.damageReport`).
    public var damageReport: String? { file.damageReport }

    public func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let reader = Unshared(try AudioFileReader(path: file.path))
        let file = self.file
        return AsyncThrowingStream {
            guard var chunk = try reader.value.nextChunk() else {
                file.record("audio", reader.value.damage)
                return nil
            }
            guard let pacer = file.pacer() else { return chunk }
            // Replaying live, a chunk is delivered once its last sample would have been captured.
            try await pacer.wait(until: chunk.endTime)
            chunk.time = pacer.clockTime(of: chunk.time)
            return chunk
        }
    }
}

/// The video of a `RecordedFile`.
public struct FileVideoSource: VideoSource {
    let file: RecordedFile
    public var name: String { file.path }
    /// The recording's damage once its streams have ended (`RecordedFile.damageReport`).
    public var damageReport: String? { file.damageReport }

    public func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let reader = Unshared(try VideoFileReader(path: file.path))
        let file = self.file
        let period = MediaDuration(seconds: 1 / (reader.value.framesPerSecond ?? 25))
        return AsyncThrowingStream {
            while var frame = try reader.value.nextFrame() {
                guard let pacer = file.pacer() else { return frame }
                // Late by more than a frame period, before the wait or after it: a newer frame
                // is already due.
                guard let time = try await pacer.frame(at: frame.time, period: period) else {
                    file.countDrop()
                    continue
                }
                frame.time = time
                return frame
            }
            file.record("video", reader.value.damage)
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
