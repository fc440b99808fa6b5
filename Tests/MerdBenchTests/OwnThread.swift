import Foundation

/// Runs CPU-bound test work on a thread of its own and awaits it. Swift's cooperative pool has
/// as many threads as cores (two here); work that blocks them for seconds would starve the
/// tests that pace media in real time (RecordedFile's, the paced sources'), which the kernel's
/// scheduler, sharing the cores among threads, does not.
func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
