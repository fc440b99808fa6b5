/// Median, 90th percentile and maximum of a run's latencies, and whether they grow over the
/// run: the mean of its second half against its first's, since an engine that cannot keep up
/// builds a backlog that each later utterance waits behind.
package struct LatencyStatistics: Sendable, Equatable {
    /// How far the second half's mean may exceed the first's before the run counts as
    /// growing: more than run-to-run noise of utterance lengths, less than a HuBERT window.
    package static let backlogMilliseconds = 300

    package let count: Int
    /// The upper median (of an even count, the higher of the middle two).
    package let medianMilliseconds: Int
    package let p90Milliseconds: Int
    package let maxMilliseconds: Int
    /// Integer means of the first and the last `count / 2` latencies (of one, that one).
    package let firstHalfMeanMilliseconds: Int
    package let secondHalfMeanMilliseconds: Int

    /// - Parameter latencies: milliseconds, in the order the events arrived; nil when empty.
    package init?(_ latencies: [Int]) {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        count = sorted.count
        medianMilliseconds = sorted[count / 2]
        p90Milliseconds = sorted[min(count - 1, count * 9 / 10)]
        maxMilliseconds = sorted[count - 1]
        let half = max(1, count / 2)
        firstHalfMeanMilliseconds = latencies.prefix(half).reduce(0, +) / half
        secondHalfMeanMilliseconds = latencies.suffix(half).reduce(0, +) / half
    }

    /// Whether latency grew over the run by more than ``backlogMilliseconds``.
    package var growing: Bool { secondHalfMeanMilliseconds > firstHalfMeanMilliseconds + Self.backlogMilliseconds }
}
