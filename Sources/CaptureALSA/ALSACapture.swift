import Locking
import CALSA
import Foundation
import MediaTypes
import Synchronization

/// Microphone capture through libasound: an `AudioSource` over any PCM name ALSA knows
/// (`default`, `hw:1,0`, `plughw:…`, a name from a configuration given in-process).
///
/// The device's own format is used: the first of float, S32, S16 it offers, its own rate
/// (the preferred one when it supports it) and channel count; the engine resamples. Reads
/// run on a dedicated thread in periods; each chunk is stamped on the monotonic clock from
/// the running sample count, re-anchored after an overrun. Overruns are recovered with
/// `snd_pcm_recover` and counted; a device that disappears ends the stream with
/// `CaptureError.lost`, and calling `chunks()` again reopens it.
public final class ALSACapture: AudioSource, Sendable {
    /// What the capture should ask the device for; each is a preference, not a demand,
    /// unless the device offers it.
    public struct Preferences: Sendable, Equatable {
        public var sampleRate: Int?
        public var channels: Int?
        /// Restrict the sample format (tests use it to read a known raw layout).
        public var format: Format?
        /// Frames per read (the period), as milliseconds.
        public var periodMilliseconds: Int
        /// Chunks the stream holds for a slow consumer (500: 10 s of 20 ms periods).
        public var bufferedChunks: Int
        /// Which chunks go when a consumer falls that far behind: the oldest (live use:
        /// what is delivered stays recent) or the newest (what is delivered stays contiguous
        /// from the start). Either way the capture thread never waits, and drops are counted.
        public var overflow: Overflow

        public enum Format: String, Sendable, CaseIterable { case float32, signed32, signed16 }
        public enum Overflow: Sendable { case dropOldest, dropNewest }

        public init(sampleRate: Int? = nil, channels: Int? = nil, format: Format? = nil,
                    periodMilliseconds: Int = 20, bufferedChunks: Int = 500, overflow: Overflow = .dropOldest) {
            self.sampleRate = sampleRate
            self.channels = channels
            self.format = format
            self.periodMilliseconds = periodMilliseconds
            self.bufferedChunks = bufferedChunks
            self.overflow = overflow
        }
    }

    /// Counters a status event reports.
    public struct Statistics: Sendable, Equatable {
        public var overruns = 0
        public var droppedChunks = 0
        public var framesCaptured = 0
    }

    /// What was negotiated with the device.
    public struct Negotiated: Sendable, Equatable, CustomStringConvertible {
        public let sampleRate: Int
        public let channels: Int
        public let format: String
        public let periodFrames: Int
        public var description: String { "\(format) \(sampleRate) Hz × \(channels), period \(periodFrames) frames" }
    }

    public let device: String
    public let preferences: Preferences
    /// ALSA configuration text to open `device` from instead of the system's (tests).
    private let configuration: String?
    private let state = Locked<(statistics: Statistics, negotiated: Negotiated?, running: Bool)>((Statistics(), nil, false))

    /// `alsa:NAME` in logs and events.
    public var name: String { "alsa:\(device)" }

    public init(device: String = "default", preferences: Preferences = Preferences(), configuration: String? = nil) {
        self.device = device
        self.preferences = preferences
        self.configuration = configuration
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    public var negotiated: Negotiated? { state.withLock { $0.negotiated } }

    public func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let pcm = try ALSAPCM(device: device, configuration: configuration, source: name)
        let format = try pcm.negotiate(preferences)
        // A prepared capture stream only starts on its first read, and the read loop waits for
        // data before it reads: a real card (a kernel driver, not a plugin reading a file)
        // never got past the wait. Started here, it runs from the first period.
        let started = snd_pcm_start(pcm.handle)
        guard started >= 0 else {
            throw started == -ENODEV ? .notFound(source: name) : .failed(source: name, reason: "start: \(String(cString: snd_strerror(started)))")
        }
        state.withLock { $0.negotiated = format.negotiated; $0.running = true }
        let limit = max(1, preferences.bufferedChunks)
        let (stream, continuation) = AsyncThrowingStream<AudioChunk, any Error>.makeStream(
            bufferingPolicy: preferences.overflow == .dropOldest ? .bufferingNewest(limit) : .bufferingOldest(limit))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread { [self] in
            readLoop(pcm, format: format, continuation: continuation, stop: stop)
            state.withLock { $0.running = false }
        }
        thread.name = "merd-alsa-\(device)"
        thread.start()
        return stream
    }

    /// Blocking reads until the consumer stops or the device fails; never waits on the consumer.
    private func readLoop(_ pcm: ALSAPCM, format: ALSAPCM.Format, continuation: AsyncThrowingStream<AudioChunk, any Error>.Continuation,
                          stop: StopFlag) {
        let n = format.negotiated
        var raw = [UInt8](repeating: 0, count: n.periodFrames * n.channels * format.sample.bytesPerSample)
        var samples: [Float] = []
        var anchor: MediaTime?
        var framesSinceAnchor = 0
        while !stop.isSet {
            // Wait at most 200 ms so a stopped consumer is noticed even if the device stalls.
            let ready = snd_pcm_wait(pcm.handle, 200)
            if ready == 0 { continue }
            let read = raw.withUnsafeMutableBytes { snd_pcm_readi(pcm.handle, $0.baseAddress, snd_pcm_uframes_t(n.periodFrames)) }
            if read < 0 || ready < 0 {
                let code = Int32(read < 0 ? read : Int(ready))
                if code == -EPIPE || code == -ESTRPIPE {
                    // Overrun (or suspend): recover, count, and restart the clock after the gap.
                    state.withLock { $0.statistics.overruns += 1 }
                    // Recovery leaves the stream prepared, not running: start it again.
                    if snd_pcm_recover(pcm.handle, code, 1) >= 0, snd_pcm_start(pcm.handle) >= 0 {
                        anchor = nil
                        continue
                    }
                }
                if code == -EAGAIN || code == -EINTR { continue }
                let reason = String(cString: snd_strerror(code))
                continuation.finish(throwing: code == -ENODEV || code == -EBADFD || code == -EIO
                    ? CaptureError.lost(source: name, reason: reason)
                    : CaptureError.failed(source: name, reason: "read failed: \(reason)"))
                return
            }
            let frames = Int(read)
            if frames == 0 { continue }
            let now = MediaTime.now()
            if anchor == nil {
                // The chunk's first frame was captured `frames` frames before now.
                anchor = MediaTime(nanoseconds: now.nanoseconds - Int64(frames) * 1_000_000_000 / Int64(n.sampleRate))
                framesSinceAnchor = 0
            }
            raw.withUnsafeBytes { format.sample.convert($0.baseAddress!, count: frames * n.channels, into: &samples) }
            let time = anchor!.advanced(bySamples: framesSinceAnchor, sampleRate: n.sampleRate)
            framesSinceAnchor += frames
            state.withLock { $0.statistics.framesCaptured += frames }
            if case .dropped = continuation.yield(AudioChunk(samples: samples, sampleRate: n.sampleRate, channels: n.channels, time: time)) {
                state.withLock { $0.statistics.droppedChunks += 1 }
            }
        }
        continuation.finish()
    }
}

/// Set once by the consumer's side, read by the capture thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

extension ALSACapture {
    /// Overruns of the device and chunks the stream dropped for a late consumer: both are
    /// audio the engine never saw.
    public var statusCounts: SourceStatusCounts {
        let counts = statistics
        return SourceStatusCounts(overruns: counts.overruns + counts.droppedChunks)
    }

    public var negotiatedFormat: String? { negotiated?.description }
}
