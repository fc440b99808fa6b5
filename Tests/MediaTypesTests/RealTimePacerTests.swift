import MediaTypes
import Testing

@Suite("Real-time pacer")
struct RealTimePacerTests {
    @Test("media time maps onto the clock from the start instant, exactly")
    func mapping() {
        let pacer = RealTimePacer(start: MediaTime(nanoseconds: 1_000_000_007))
        #expect(pacer.clockTime(of: .zero) == pacer.start)
        #expect(pacer.clockTime(of: MediaTime(nanoseconds: 40_000_000)).nanoseconds == 1_040_000_007)
        #expect(pacer.clockTime(of: MediaTime.zero.advanced(bySamples: 320, sampleRate: 16000)).nanoseconds == 1_020_000_007)
    }

    @Test("lateness and staleness against a given now; a frame exactly a period late is still current")
    func lateness() {
        let pacer = RealTimePacer(start: MediaTime(nanoseconds: 1_000_000_000))
        let frame = MediaTime(nanoseconds: 80_000_000)  // due at 1.08 s
        let period = MediaDuration(milliseconds: 40)
        #expect(pacer.lateness(of: frame, now: MediaTime(nanoseconds: 1_050_000_000)).nanoseconds == -30_000_000)
        #expect(pacer.lateness(of: frame, now: MediaTime(nanoseconds: 1_100_000_000)).nanoseconds == 20_000_000)
        #expect(!pacer.isStale(frame, period: period, now: MediaTime(nanoseconds: 1_050_000_000)), "early")
        #expect(!pacer.isStale(frame, period: period, now: MediaTime(nanoseconds: 1_120_000_000)), "exactly a period late")
        #expect(pacer.isStale(frame, period: period, now: MediaTime(nanoseconds: 1_120_000_001)), "more than a period late")
    }

    @Test("waiting never returns before the time is due, and at once when it has passed")
    func wait() async throws {
        let pacer = RealTimePacer(start: MediaTime.now())
        let due = try await pacer.wait(until: MediaTime(nanoseconds: 15_000_000))
        #expect(due == pacer.clockTime(of: MediaTime(nanoseconds: 15_000_000)))
        #expect(MediaTime.now() >= due)
        let past = RealTimePacer(start: MediaTime.now() + MediaDuration(seconds: -60))
        #expect(try await past.wait(until: MediaTime(seconds: 1)) == past.clockTime(of: MediaTime(seconds: 1)))
    }

    @Test("a frame due soon is waited for; one overdue by more than its period is dropped")
    func frames() async throws {
        let pacer = RealTimePacer(start: MediaTime.now())
        let soon = MediaTime(nanoseconds: 10_000_000)
        // A generous period: even a loaded machine wakes within it.
        let time = try await pacer.frame(at: soon, period: MediaDuration(seconds: 30))
        #expect(time == pacer.clockTime(of: soon))
        #expect(MediaTime.now() >= pacer.clockTime(of: soon), "not before it is due")
        let overdue = RealTimePacer(start: MediaTime.now() + MediaDuration(seconds: -60))
        #expect(try await overdue.frame(at: MediaTime(seconds: 1), period: MediaDuration(milliseconds: 40)) == nil)
    }
}
