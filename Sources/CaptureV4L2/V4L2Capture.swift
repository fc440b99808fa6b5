import Locking
import CFFmpeg
import CV4L2
import Foundation
import MediaCodec
import MediaTypes
import Synchronization

/// Webcam capture through V4L2: a `VideoSource` over `/dev/videoN`.
///
/// Negotiates MJPEG (else YUYV, else NV12) at the size and rate nearest the preferences,
/// streams through mmap buffers on a dedicated thread (poll + DQBUF/QBUF), decodes MJPEG with
/// libavcodec and converts any of them to RGB24 with libswscale. Frames carry the driver's
/// monotonic timestamp. A consumer that falls behind gets the newest frame (older ones are
/// dropped and counted); a device that disappears ends the stream with `CaptureError.lost`,
/// and `frames()` opens it again.
public final class V4L2Capture: VideoSource, Sendable {
    public struct Preferences: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var framesPerSecond: Int
        /// Frames held for a slow consumer; beyond that the oldest are dropped.
        public var bufferedFrames: Int

        public init(width: Int = 640, height: Int = 480, framesPerSecond: Int = 30, bufferedFrames: Int = 2) {
            self.width = width
            self.height = height
            self.framesPerSecond = framesPerSecond
            self.bufferedFrames = bufferedFrames
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var framesCaptured = 0
        public var framesDropped = 0
        public var decodeErrors = 0
    }

    public let path: String
    public let preferences: Preferences
    private let state = Locked<(statistics: Statistics, format: String?)>((Statistics(), nil))

    public var name: String { path }
    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// What was negotiated, e.g. `MJPG 640x480@30`, once streaming.
    public var negotiatedFormat: String? { state.withLock { $0.format } }

    public init(path: String = "/dev/video0", preferences: Preferences = Preferences()) {
        self.path = path
        self.preferences = preferences
    }

    public func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let device = try V4L2Device(path: path)
        let format = try device.negotiate(width: preferences.width, height: preferences.height,
                                          framesPerSecond: preferences.framesPerSecond)
        let decoder = try FrameDecoder(format: format, source: path)
        try device.startStreaming()
        state.withLock { $0.format = format.description }
        let (stream, continuation) = AsyncThrowingStream<VideoFrame, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(max(1, preferences.bufferedFrames)))
        let stop = Atomic<Bool>(false)
        let stopFlag = Unowned(stop)
        continuation.onTermination = { _ in stopFlag.value.store(true, ordering: .releasing) }
        let thread = Thread { [self] in
            captureLoop(device, decoder: decoder, continuation: continuation, stop: stopFlag)
        }
        thread.name = "merd-v4l2"
        thread.start()
        return stream
    }

    private func captureLoop(_ device: V4L2Device, decoder: FrameDecoder, continuation: AsyncThrowingStream<VideoFrame, any Error>.Continuation,
                             stop: Unowned<Atomic<Bool>>) {
        var poller = pollfd(fd: device.descriptor, events: Int16(POLLIN), revents: 0)
        while !stop.value.load(ordering: .acquiring) {
            let ready = poll(&poller, 1, 200)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            if ready < 0 || poller.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                continuation.finish(throwing: CaptureError.lost(source: path, reason: "the device stopped answering (unplugged?)"))
                return
            }
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            if V4L2Device.control(device.descriptor, merd_VIDIOC_DQBUF, &buffer) != 0 {
                let code = errno
                if code == EAGAIN { continue }
                continuation.finish(throwing: code == ENODEV || code == EIO
                    ? CaptureError.lost(source: path, reason: String(cString: strerror(code)))
                    : CaptureError.failed(source: path, reason: "VIDIOC_DQBUF: \(String(cString: strerror(code)))"))
                return
            }
            let time = Self.time(of: buffer)
            let mapped = device.buffers[Int(buffer.index)]
            let frame = decoder.decode(mapped.pointer, bytes: Int(buffer.bytesused), time: time)
            // The buffer goes back to the driver at once; the frame owns its own pixels.
            var requeue = buffer
            _ = V4L2Device.control(device.descriptor, merd_VIDIOC_QBUF, &requeue)
            guard let frame else {
                state.withLock { $0.statistics.decodeErrors += 1 }
                continue
            }
            let dropped: Bool
            if case .dropped = continuation.yield(frame) { dropped = true } else { dropped = false }
            state.withLock {
                $0.statistics.framesCaptured += 1
                if dropped { $0.statistics.framesDropped += 1 }
            }
        }
        device.stopStreaming()
        continuation.finish()
    }

    /// The driver's timestamp when it is on the monotonic clock (as V4L2 drivers stamp by
    /// default), else the time of dequeueing.
    static func time(of buffer: v4l2_buffer) -> MediaTime {
        let monotonic = buffer.flags & 0xE000 == 0x2000  // V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC
        let stamp = buffer.timestamp
        guard monotonic, stamp.tv_sec > 0 || stamp.tv_usec > 0 else { return MediaTime.now() }
        return MediaTime(nanoseconds: Int64(stamp.tv_sec) * 1_000_000_000 + Int64(stamp.tv_usec) * 1000)
    }
}

/// A reference that outlives the closure capturing it (the Atomic is not copyable, so the
/// closure cannot hold it directly).
final class Unowned<Value: ~Copyable & Sendable>: Sendable {
    let value: Value
    init(_ value: consuming Value) { self.value = value }
}

extension V4L2Capture {
    public var statusCounts: SourceStatusCounts { SourceStatusCounts(droppedFrames: statistics.framesDropped) }
}
