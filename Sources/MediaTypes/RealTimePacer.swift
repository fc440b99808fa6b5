/// Live pacing of a stream whose own times start at zero (a file, samples held in memory):
/// media time maps onto the monotonic clock from a start instant, and each chunk or frame is
/// handed on when that moment comes, as a microphone or camera would deliver it.
///
/// Sources of one stream share one pacer, so audio and video replayed together stay on one
/// clock. Video that falls behind is dropped by the caller (latest wins, as a camera's queue
/// holds only the newest frame); the pacer says when a frame is that late.
public struct RealTimePacer: Sendable, Equatable {
    /// The instant on the monotonic clock that media time zero maps to.
    public let start: MediaTime

    public init(start: MediaTime) {
        self.start = start
    }

    /// When media time `mediaTime` is due on the monotonic clock.
    public func clockTime(of mediaTime: MediaTime) -> MediaTime {
        MediaTime(nanoseconds: start.nanoseconds + mediaTime.nanoseconds)
    }

    /// How late media time `mediaTime` is at `now` (negative while it is still ahead).
    public func lateness(of mediaTime: MediaTime, now: MediaTime = .now()) -> MediaDuration {
        now - clockTime(of: mediaTime)
    }

    /// Whether a frame at `mediaTime` is more than `period` late at `now`: the next frame is
    /// due by then, so this one is dropped.
    public func isStale(_ mediaTime: MediaTime, period: MediaDuration, now: MediaTime = .now()) -> Bool {
        lateness(of: mediaTime, now: now) > period
    }

    /// Waits until media time `mediaTime` is due, at once when it has passed.
    ///
    /// - Important: Never returns early. `Task.sleep` counts on Swift's continuous clock, not
    ///   on `MediaTime.now()`'s, so the wait is checked against the monotonic clock again.
    /// - Returns: its time on the monotonic clock.
    @discardableResult
    public func wait(until mediaTime: MediaTime) async throws -> MediaTime {
        let due = clockTime(of: mediaTime)
        while true {
            let ahead = due - MediaTime.now()
            guard ahead.nanoseconds > 0 else { return due }
            try await Task.sleep(for: .nanoseconds(ahead.nanoseconds))
        }
    }

    /// Waits for a video frame at `mediaTime` with frames `period` apart.
    ///
    /// - Returns: the frame's time on the monotonic clock, or nil when the frame is stale,
    ///   before the wait or after it (woken late on a loaded machine): the caller drops it.
    public func frame(at mediaTime: MediaTime, period: MediaDuration) async throws -> MediaTime? {
        guard !isStale(mediaTime, period: period) else { return nil }
        let due = try await wait(until: mediaTime)
        return isStale(mediaTime, period: period) ? nil : due
    }
}
