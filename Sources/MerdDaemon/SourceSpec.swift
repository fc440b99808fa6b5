import CaptureALSA
import CaptureFile
import CaptureV4L2
import MediaTypes

/// A source as configured (`sources.audio`, `--video`, …), parsed once at the edge: an ALSA
/// PCM, a V4L2 camera, or a recording replayed in real time.
public enum SourceSpec: Sendable, Equatable, CustomStringConvertible {
    /// `alsa:NAME`: an ALSA capture PCM (`alsa:default`, `alsa:hw:1,0`).
    case alsa(device: String)
    /// `/dev/videoN`: a V4L2 camera.
    case camera(path: String)
    /// Any other path: a media file replayed in real time.
    case file(path: String)

    /// Why a setting is not a source.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let value: String
        public let allowed: String
        public var description: String { "\"\(value)\" is not a source; \(allowed)" }
    }

    /// `sources.audio` / `--audio`: `alsa:NAME`, a media file, or `none`/"" (nil: no microphone).
    public static func audio(_ value: String) throws(Invalid) -> SourceSpec? {
        try parse(value, allowed: "alsa:NAME, a media file, or \"none\"") { spec in
            if case .camera = spec { return false }
            return true
        }
    }

    /// `sources.video` / `--video`: `/dev/videoN`, a media file, or `none`/"" (nil: no camera).
    public static func video(_ value: String) throws(Invalid) -> SourceSpec? {
        try parse(value, allowed: "/dev/videoN, a media file, or \"none\"") { spec in
            if case .alsa = spec { return false }
            return true
        }
    }

    private static func parse(_ value: String, allowed: String, accepts: (SourceSpec) -> Bool) throws(Invalid) -> SourceSpec? {
        if value.isEmpty || value == "none" { return nil }
        let spec: SourceSpec
        if value.hasPrefix("alsa:") {
            guard value.count > 5 else { throw Invalid(value: value, allowed: "alsa: needs a PCM name, e.g. alsa:default") }
            spec = .alsa(device: String(value.dropFirst(5)))
        } else if value.hasPrefix("/dev/") {
            guard value.hasPrefix("/dev/video") else { throw Invalid(value: value, allowed: allowed) }
            spec = .camera(path: value)
        } else if let scheme = Self.scheme(of: value) {
            // `pulse:default`, `rtsp://…`: a kind of source merd does not read, not a file name.
            throw Invalid(value: value, allowed: "merd reads no \(scheme): sources; \(allowed)")
        } else {
            spec = .file(path: value)
        }
        guard accepts(spec) else { throw Invalid(value: value, allowed: allowed) }
        return spec
    }

    /// `pulse` of `pulse:default`: letters before a colon, as in a URL scheme.
    private static func scheme(of value: String) -> String? {
        guard let colon = value.firstIndex(of: ":") else { return nil }
        let head = value[..<colon]
        guard let first = head.first, first.isLetter, head.allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }) else { return nil }
        return String(head)
    }

    public var description: String {
        switch self {
        case .alsa(let device): return "alsa:\(device)"
        case .camera(let path), .file(let path): return path
        }
    }

    /// A device is reopened with backoff when it fails; a recording ends.
    public var isDevice: Bool {
        if case .file = self { return false }
        return true
    }

    /// The audio source this names.
    public func audioSource() -> any AudioSource {
        switch self {
        case .alsa(let device): return ALSACapture(device: device)
        case .camera(let path), .file(let path): return RecordedFile(path: path, pacing: .realTime).audio
        }
    }

    /// The video source this names.
    public func videoSource(preferences: V4L2Capture.Preferences) -> any VideoSource {
        switch self {
        case .camera(let path): return V4L2Capture(path: path, preferences: preferences)
        case .alsa(let device), .file(let device): return RecordedFile(path: device, pacing: .realTime).video
        }
    }
}
