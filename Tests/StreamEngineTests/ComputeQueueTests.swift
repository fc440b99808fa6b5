import Foundation
import NeuralKit
@testable import StreamEngine
import Testing

@Suite("compute queue", .serialized)
struct ComputeQueueTests {
    /// `body` on a thread made for it, which nothing in merd has set up.
    static func onFreshThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    @Test("every job runs its products with the thread budget `ComputeThreads.configure` set, on whichever thread libdispatch gives the queue; a thread merd has not set up has OpenMP's default")
    func threadBudget() async throws {
        let (previousBudget, blasThreads) = (ComputeThreads.budget, BLAS.threadCount)
        // OpenMP keeps its count per thread: a new thread gets the default (a thread per core).
        let fresh = await Self.onFreshThread { ComputeThreads.openMPThreads }
        let budget = fresh + 1
        ComputeThreads.configure(budget)
        defer {
            ComputeThreads.configure(previousBudget > 0 ? previousBudget : fresh)
            BLAS.threadCount = blasThreads
        }
        #expect(await Self.onFreshThread { ComputeThreads.openMPThreads } == fresh, "configure sets the calling thread's count only")

        let queue = ComputeQueue(label: "merd.test")
        var counts: [Int] = []
        for _ in 0..<4 { counts.append(try await queue.run { ComputeThreads.openMPThreads }) }
        let submitted: Int = await withCheckedContinuation { continuation in
            queue.submit { continuation.resume(returning: ComputeThreads.openMPThreads) }
        }
        #expect(counts == [Int](repeating: budget, count: 4) && submitted == budget, "run: \(counts), submit: \(submitted)")
        // The face stage's queue: one thread, whatever the budget and whichever thread ran a job before.
        let single = ComputeQueue(label: "merd.test.single", openMPThreads: 1)
        #expect(try await single.run { ComputeThreads.openMPThreads } == 1)
        #expect(try await queue.run { ComputeThreads.openMPThreads } == budget)
    }
}
