#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex: the same use as the standard library's `Mutex`
/// (`withLock`), but a lock ThreadSanitizer sees. On Linux, `Synchronization.Mutex` locks
/// through futexes inside the uninstrumented runtime, so TSan cannot see its happens-before
/// edges and reports every guarded access as a race, which would bury a real one.
///
/// - Important: `@unchecked Sendable` because every access to `value` happens inside
///   `withLock`, under the mutex; the mutex lives at a fixed heap address for the object's life.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed (\(status))")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock; `body` must not call `withLock` on the
    /// same value again (the mutex is not recursive).
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
