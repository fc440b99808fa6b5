import Dispatch
import NeuralKit

/// A serial queue of its own thread for heavy compute (HuBERT, face CNNs, fusion), so that
/// Swift's cooperative pool — which carries the sources, the segmenter and the socket — is
/// never held by a model. Jobs run in submission order, each with the process's thread budget
/// for its products, or fewer (`ComputeThreads.adopt`: libdispatch may give the queue any
/// thread, and OpenMP keeps its count per thread).
final class ComputeQueue: Sendable {
    private let queue: DispatchQueue
    /// At most this many OpenMP threads for a job's products (`Int.max`: the whole budget).
    let openMPThreads: Int

    init(label: String, openMPThreads: Int = .max) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        self.openMPThreads = openMPThreads
    }

    /// Runs `work` on the queue and waits for its result without blocking a pool thread.
    func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        let threads = openMPThreads
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                ComputeThreads.adopt(atMost: threads)
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Queues `work` without waiting (a streaming step whose result a later job collects).
    func submit(_ work: @escaping @Sendable () -> Void) {
        let threads = openMPThreads
        queue.async {
            ComputeThreads.adopt(atMost: threads)
            work()
        }
    }
}
