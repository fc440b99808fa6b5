@testable import MerdBench
import Testing

@Suite("stolen CPU time")
struct StolenTimeTests {
    // A 2-CPU guest's /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice.
    static func procStat(steal: UInt64, idle: UInt64) -> String {
        """
        cpu  138062 0 23860 \(idle) 1341 0 232 \(steal) 9000 0
        cpu0 69000 0 11900 751000 670 0 116 3740 4500 0
        intr 1234 0 0
        """
    }

    @Test("steal and the total come from the first line, guest time (already in user) left out")
    func parses() throws {
        let times = try #require(StolenTime(procStat: Self.procStat(steal: 7483, idle: 1_502_257)))
        #expect(times.steal == 7483)
        #expect(times.total == 138_062 + 23_860 + 1_502_257 + 1341 + 232 + 7483)
    }

    @Test("the share is the stolen ticks over all ticks between two readings")
    func share() throws {
        let before = try #require(StolenTime(procStat: Self.procStat(steal: 1000, idle: 10_000)))
        // 300 more ticks of idle, 100 more stolen: 100 / 400 of the time that passed.
        let after = try #require(StolenTime(procStat: Self.procStat(steal: 1100, idle: 10_300)))
        let share = try #require(after.stolenShare(since: before))
        #expect(abs(share - 0.25) < 1e-12)
        #expect(before.stolenShare(since: before) == nil, "no time passed")
        #expect(before.stolenShare(since: after) == nil, "counters that went back are another boot")
    }

    @Test("text that is not /proc/stat's, or a line without steal, gives nothing rather than a share",
          arguments: ["", "intr 1 2 3\ncpu 1 2 3 4 5 6 7 8", "cpu  1 2 3 4 5 6 7", "cpu  1 2 3 x 5 6 7 8", "cpu0 1 2 3 4 5 6 7 8",
                      "cpu  1 2 3 4 5 6 7 -8"])
    func malformed(text: String) {
        #expect(StolenTime(procStat: text) == nil)
    }

    @Test("this machine's counters can be read, and a summary since an earlier reading names the share")
    func thisMachine() async throws {
        let earlier = try #require(StolenTime.now())
        #expect(earlier.total > 0)
        // The summary needs ticks (10 ms each, idle ones too) between its two readings.
        try await Task.sleep(for: .milliseconds(60))
        let summary = try #require(StolenTime.summary(since: earlier))
        #expect(summary.hasSuffix("% of the CPU time stolen by the hypervisor"), "\(summary)")
        #expect(StolenTime.summary(since: nil) == nil)
    }
}
