import Dispatch

/// Element-wise work between products (softmax, GELU, layer norm), split over the calling
/// thread's compute budget.
///
/// oneDNN's and OpenBLAS's products use every thread of the budget; the steps between them
/// ran on the calling thread alone while the team's other threads slept. In a 10-s HuBERT-large
/// pass that was ~200 ms of one core on a Zen 4 (perf: softmax, GELU and layer norm), ~10 % of
/// a BF16 pass. Each share is whole rows (or, for GELU, a run of values), so the result is the
/// same bit for bit however the work is split.
package enum RowParallel {
    /// The fewest values one share is given: a share under ~32 Ki floats costs about as much
    /// to hand to a pool thread as it saves, so a live window's layer norm (48 × 1024 values)
    /// stays on the calling thread, and its feed-forward GELU (48 × 4096) is split in two.
    package static let minimumShare = 1 << 15

    /// Shares for `values` values: one per thread of the calling thread's budget
    /// (`ComputeThreads.openMPThreads`, 1 on the face stage's queue), fewer where a share
    /// would hold less than `minimumShare`.
    package static func shares(values: Int, limit: Int) -> Int {
        max(1, min(ComputeThreads.openMPThreads, values / minimumShare, limit))
    }

    /// Calls `body` on disjoint ranges of `0 ..< rows` that together cover it, in parallel when
    /// the rows hold enough values (`width` each), on the calling thread otherwise.
    package static func forEach(rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        let parts = shares(values: rows * width, limit: rows)
        guard parts > 1 else {
            body(0..<rows)
            return
        }
        // The shares write disjoint rows, and `concurrentPerform` returns only when all are
        // done, so the caller's buffers outlive every share: what the unchecked box vouches for.
        withoutActuallyEscaping(body) { body in
            let shared = SharedBody(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                shared.body(rows * part / parts ..< rows * (part + 1) / parts)
            }
        }
    }

    private struct SharedBody: @unchecked Sendable {
        let body: (Range<Int>) -> Void
        init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
    }
}
