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
}
