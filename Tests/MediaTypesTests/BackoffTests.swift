import MediaTypes
import Testing

@Suite("Reopen backoff")
struct BackoffTests {
    @Test("doubles up to the maximum and resets")
    func sequence() {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(5))
        let delays = (0..<7).map { _ in backoff.nextDelay() }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5), .seconds(5)])
        backoff.reset()
        #expect(backoff.nextDelay() == .milliseconds(500))
    }

    @Test("a week of failures never overflows")
    func manyAttempts() {
        var backoff = Backoff()
        for _ in 0..<100_000 { _ = backoff.nextDelay() }
        #expect(backoff.nextDelay() == .seconds(30))
    }

    @Test("a device that ran for `stable` before failing starts again from the initial delay; one that fails at once keeps doubling")
    func failures() {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30), stable: .seconds(2))
        // Opens fail at once while the camera is unplugged: doubling.
        let unplugged = (0..<4).map { _ in backoff.failed(after: .milliseconds(3)) }
        #expect(unplugged == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
        // Plugged back, it runs for an hour, then goes away again: a new failure.
        #expect(backoff.failed(after: .seconds(3600)) == .milliseconds(500))
        // Fifty unplugs, each after a few seconds of running, never grow the delay.
        for _ in 0..<50 { #expect(backoff.failed(after: .seconds(3)) == .milliseconds(500)) }
        // One that opens and dies within a second (flapping) escalates.
        #expect([backoff.failed(after: .milliseconds(900)), backoff.failed(after: .milliseconds(900))] == [.seconds(1), .seconds(2)])
    }
}
