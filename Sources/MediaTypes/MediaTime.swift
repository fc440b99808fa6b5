#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point on the capture clock (CLOCK_MONOTONIC), in nanoseconds.
///
/// Every chunk and frame carries one, so audio and video are aligned on the clock they were
/// captured on rather than on the order they arrived in. ALSA and V4L2 can both stamp on
/// this clock; files start at zero.
public struct MediaTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary, fixed origin (boot, for the monotonic clock).
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public init(seconds: Double) {
        self.nanoseconds = Int64((seconds * 1e9).rounded())
    }

    /// The time as seconds, for events and logs.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static let zero = MediaTime(nanoseconds: 0)

    /// The current time on the monotonic clock.
    public static func now() -> MediaTime {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return MediaTime(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }

    /// The time `sampleCount` samples after this one at `sampleRate` Hz, computed without
    /// accumulating rounding error over long streams.
    public func advanced(bySamples sampleCount: Int, sampleRate: Int) -> MediaTime {
        precondition(sampleRate > 0, "sample rate must be positive")
        let whole = Int64(sampleCount / sampleRate) * 1_000_000_000
        let rest = Int64(sampleCount % sampleRate) * 1_000_000_000 / Int64(sampleRate)
        return MediaTime(nanoseconds: nanoseconds + whole + rest)
    }

    public static func < (lhs: MediaTime, rhs: MediaTime) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: MediaTime, rhs: MediaDuration) -> MediaTime {
        MediaTime(nanoseconds: lhs.nanoseconds + rhs.nanoseconds)
    }

    public static func - (lhs: MediaTime, rhs: MediaTime) -> MediaDuration {
        MediaDuration(nanoseconds: lhs.nanoseconds - rhs.nanoseconds)
    }

    public var description: String {
        // Milliseconds are the resolution people read logs at.
        let milliseconds = (Double(nanoseconds) / 1e6).rounded() / 1e3
        return "\(milliseconds)s"
    }
}

/// A span of time on the capture clock, in nanoseconds.
public struct MediaDuration: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public init(seconds: Double) {
        self.nanoseconds = Int64((seconds * 1e9).rounded())
    }

    public init(milliseconds: Int) {
        self.nanoseconds = Int64(milliseconds) * 1_000_000
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: MediaDuration, rhs: MediaDuration) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: MediaDuration, rhs: MediaDuration) -> MediaDuration {
        MediaDuration(nanoseconds: lhs.nanoseconds + rhs.nanoseconds)
    }
}

extension Duration {
    /// The duration in seconds, for rates and reports (clips per second, real-time factors).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
