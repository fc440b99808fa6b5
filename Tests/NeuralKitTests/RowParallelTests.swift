import Locking
import Testing

@testable import NeuralKit

@Suite("Element-wise steps split over the compute budget")
struct RowParallelTests {
    @Test("the shares cover every row once; small work, or a budget of one, stays on the calling thread",
          arguments: [(1, 1 << 20, 1, 1), (4, 1 << 20, 3, 3), (500, 1024, 3, 3), (48, 1024, 1, 1), (7, 1, 3, 1),
                      (100_000, 1, 3, 3), (48, 1024, 2, 1), (48, 4096, 2, 2)])
    func shares(rows: Int, width: Int, threads: Int, expected: Int) {
        // `Locked`, not `Mutex`: ThreadSanitizer (scripts/sanitize runs this suite) cannot see
        // `Mutex`'s futex hand-offs on Linux and reported the shares' appends as a race.
        let seen = Locked<[Range<Int>]>([])
        ComputeThreads.withOpenMPThreads(threads) {
            RowParallel.forEach(rows: rows, width: width) { range in seen.withLock { $0.append(range) } }
        }
        let ranges = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.count == expected, "\(rows) rows of \(width) on \(threads) threads")
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == rows)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
    }

    @Test("softmax, GELU and layer norm give the same bits split three ways as on one thread")
    func sameBits() {
        var random = SeededRandom(seed: 17)
        let scores = random.tensor([300, 499], in: -30...30)
        let activations = random.tensor([64, 4096], in: -8...8)
        let rows = random.tensor([200, 1024], in: -4...4)
        let norm = LayerNorm(weight: random.tensor([1024], in: 0.5...1.5), bias: random.tensor([1024]))
        func run(threads: Int) -> [[Float]] {
            ComputeThreads.withOpenMPThreads(threads) {
                [scores.softmax().scalars, activations.gelu().scalars, norm(rows).scalars]
            }
        }
        let one = run(threads: 1), three = run(threads: 3)
        for (name, (a, b)) in zip(["softmax", "gelu", "layer norm"], zip(one, three)) {
            #expect(a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name)")
        }
        // Not a vacuous comparison: each was split (values ≥ 3 shares' worth).
        for count in [scores.count, activations.count, rows.count] {
            #expect(count / RowParallel.minimumShare >= 3)
        }
    }
}
