/// How long to wait before reopening a device that went away: doubling from `initial` up to
/// `maximum`, back to `initial` once the device has run again. A camera unplugged for a week
/// is then tried every `maximum`, not in a busy loop, and a brief glitch costs `initial`.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    /// How long a device must have run before a failure counts as a new one (`failed(after:)`).
    public let stable: Duration
    public private(set) var attempts = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), stable: Duration = .seconds(2)) {
        precondition(initial > .zero && maximum >= initial, "backoff needs 0 < initial ≤ maximum")
        self.initial = initial
        self.maximum = maximum
        self.stable = stable
    }

    /// The delay after a device that had been open for `ran` failed: from `initial` again when
    /// it had run for `stable` or more (it worked, then went away: a new failure), else the
    /// next doubling (it failed at once or flaps). A supervisor that only reset after a clean
    /// end never reset for a live device, whose streams end only by failing: every unplug of
    /// a camera that had since run for days waited twice as long as the one before, up to
    /// `maximum`.
    public mutating func failed(after ran: Duration) -> Duration {
        if ran >= stable { reset() }
        return nextDelay()
    }

    /// The delay before the next attempt; each call doubles it, up to `maximum`.
    public mutating func nextDelay() -> Duration {
        defer { attempts += 1 }
        var delay = initial
        for _ in 0..<min(attempts, 32) {
            delay = delay * 2
            if delay >= maximum { return maximum }
        }
        return delay
    }

    /// The device is running again: the next failure starts from `initial`.
    public mutating func reset() { attempts = 0 }
}
