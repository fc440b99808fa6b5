/// What one subscriber may ask of the server: lines per second (a token bucket: a burst, then
/// a steady rate) and replies waiting to be sent. A client over either is told once and
/// disconnected, so no client can make the server buffer without bound or spend its loop on
/// one connection (EVENTS.md: a subscriber sends one `subscribe` line; these limits are far
/// above anything a well-behaved client sends).
struct ClientInputBudget: Sendable {
    struct Limits: Sendable, Equatable {
        /// Lines accepted at once before the rate applies.
        var burstLines: Double
        /// Lines per second, sustained.
        var linesPerSecond: Double
        /// Replies (errors) queued for a client that is not reading them.
        var pendingReplies: Int

        static let standard = Limits(burstLines: 64, linesPerSecond: 16, pendingReplies: 16)
    }

    let limits: Limits
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant

    init(limits: Limits, now: ContinuousClock.Instant) {
        self.limits = limits
        tokens = limits.burstLines
        refilledAt = now
    }

    /// Takes one line's token at `now`; false when the client is over its rate.
    mutating func takeLine(now: ContinuousClock.Instant) -> Bool {
        let elapsed = now - refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(limits.burstLines, tokens + seconds * limits.linesPerSecond)
        refilledAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// What the client is told before it is disconnected.
    var refusal: String {
        "over this connection's budget (\(Int(limits.burstLines)) lines at once, \(Int(limits.linesPerSecond)) per second,"
            + " \(limits.pendingReplies) unread replies); disconnecting"
    }
}
