/// Something that captures audio: a microphone, a file, a test signal.
///
/// The engine sees only this protocol, never a concrete device, so tests and `merd analyze`
/// can feed it from a file.
public protocol AudioSource: Sendable {
    /// How the source names itself in status events and logs (`alsa:default`, a file path).
    var name: String { get }

    /// Starts capture. The stream yields chunks in capture order and finishes when the
    /// source ends; it finishes by throwing a ``CaptureError`` when the source fails.
    /// Ending iteration (cancelling the consuming task) stops capture and releases the device.
    func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error>

    /// What the source lost so far (status events report it); zero for a source that cannot lose data.
    var statusCounts: SourceStatusCounts { get }
    /// The format agreed with the device once capturing (`S16 48000 Hz × 2, period 960 frames`), or nil.
    var negotiatedFormat: String? { get }
}

/// Something that captures video: a webcam, a file, a synthetic camera.
public protocol VideoSource: Sendable {
    /// How the source names itself in status events and logs (`/dev/video0`, a file path).
    var name: String { get }

    /// Starts capture; the stream behaves as ``AudioSource/chunks()``'s does.
    func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error>

    /// What the source lost so far (status events report it).
    var statusCounts: SourceStatusCounts { get }
    /// The format agreed with the device once capturing (`MJPG 640x480@30`), or nil.
    var negotiatedFormat: String? { get }
}

extension AudioSource {
    public var statusCounts: SourceStatusCounts { SourceStatusCounts() }
    public var negotiatedFormat: String? { nil }
}

extension VideoSource {
    public var statusCounts: SourceStatusCounts { SourceStatusCounts() }
    public var negotiatedFormat: String? { nil }
}

/// Data a source lost since it was created, as `status` events report it (EVENTS.md): a
/// consumer that falls behind makes a camera drop frames and a microphone overrun.
public struct SourceStatusCounts: Sendable, Equatable {
    /// Audio capture overruns, plus chunks dropped because the consumer was late.
    public var overruns: Int
    /// Video frames dropped because the consumer was late.
    public var droppedFrames: Int

    public init(overruns: Int = 0, droppedFrames: Int = 0) {
        self.overruns = overruns
        self.droppedFrames = droppedFrames
    }
}

/// Why a source could not start or stopped.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    /// No device or file of that name.
    case notFound(source: String)
    /// The device exists but is in use or not permitted.
    case unavailable(source: String, reason: String)
    /// The device offers no format this program can use.
    case unsupportedFormat(source: String, detail: String)
    /// The device went away while capturing (unplugged, driver reset).
    case lost(source: String, reason: String)
    /// A file has no stream of that kind (`audio`, `video`): a video without sound, a
    /// recording without pictures.
    case noStream(source: String, kind: String)
    /// A read or decode failed in a way that does not go away by retrying.
    case failed(source: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let source):
            return "\(source): no such device or file; check the name (`merd devices` lists devices)"
        case .unavailable(let source, let reason):
            return "\(source): cannot open (\(reason)); is another program using it, and may this user open it?"
        case .unsupportedFormat(let source, let detail):
            return "\(source): no usable format (\(detail))"
        case .lost(let source, let reason):
            return "\(source): lost while capturing (\(reason)); it will be reopened when it comes back"
        case .noStream(let source, let kind):
            return "\(source): no \(kind) stream"
        case .failed(let source, let reason):
            return "\(source): \(reason)"
        }
    }
}
