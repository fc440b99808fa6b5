import MerdBench
import Testing

@Suite("Latency statistics")
struct LatencyStatisticsTests {
    @Test("median, p90, max and half means of a growing run, in arrival order")
    func growing() throws {
        // Arrival order differs from sorted order: statistics sort, the half means do not.
        let statistics = try #require(LatencyStatistics([300, 100, 200, 500, 400, 1000, 600, 900, 700, 800]))
        #expect(statistics.count == 10)
        #expect(statistics.medianMilliseconds == 600, "upper median of an even count")
        #expect(statistics.p90Milliseconds == 1000)
        #expect(statistics.maxMilliseconds == 1000)
        #expect(statistics.firstHalfMeanMilliseconds == 300)
        #expect(statistics.secondHalfMeanMilliseconds == 800)
        #expect(statistics.growing)
    }

    @Test("a steady run is not a backlog; the threshold is strict")
    func steady() throws {
        let steady = try #require(LatencyStatistics([500, 400, 600, 500]))
        #expect(steady.medianMilliseconds == 500 && steady.p90Milliseconds == 600 && steady.maxMilliseconds == 600)
        #expect(steady.firstHalfMeanMilliseconds == 450 && steady.secondHalfMeanMilliseconds == 550)
        #expect(!steady.growing)
        let atThreshold = try #require(LatencyStatistics([100, 100 + LatencyStatistics.backlogMilliseconds]))
        #expect(!atThreshold.growing, "exactly the threshold is not growth")
        let beyond = try #require(LatencyStatistics([100, 101 + LatencyStatistics.backlogMilliseconds]))
        #expect(beyond.growing)
    }

    @Test("one latency is its own median, p90 and both halves; none gives no statistics")
    func edges() throws {
        let one = try #require(LatencyStatistics([250]))
        #expect(one == LatencyStatistics([250]))
        #expect(one.count == 1 && one.medianMilliseconds == 250 && one.p90Milliseconds == 250 && one.maxMilliseconds == 250)
        #expect(one.firstHalfMeanMilliseconds == 250 && one.secondHalfMeanMilliseconds == 250 && !one.growing)
        // Odd count: the middle one belongs to neither half.
        let three = try #require(LatencyStatistics([100, 5000, 900]))
        #expect(three.medianMilliseconds == 900 && three.firstHalfMeanMilliseconds == 100 && three.secondHalfMeanMilliseconds == 900)
        #expect(LatencyStatistics([]) == nil)
    }
}
