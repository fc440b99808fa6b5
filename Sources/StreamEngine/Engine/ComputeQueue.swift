import Dispatch

/// A serial queue of its own thread for heavy compute (HuBERT, face CNNs, fusion), so that
/// Swift's cooperative pool — which carries the sources, the segmenter and the socket — is
/// never held by a model. Jobs run in submission order.
final class ComputeQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// Runs `work` on the queue and waits for its result without blocking a pool thread.
    func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Queues `work` without waiting (a streaming step whose result a later job collects).
    func submit(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }
}
