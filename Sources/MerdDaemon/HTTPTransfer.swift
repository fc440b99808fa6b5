import CCurlLoader
import Foundation
import Locking

/// One HTTP(S) GET through libcurl, which merd opens the first time it downloads
/// (CCurlLoader) rather than linking it, as Foundation's URLSession would, into every process.
/// The transfer runs on a thread of its own, since libcurl blocks until it ends; cancelling
/// the task stops it within about a second.
enum HTTPTransfer {
    /// Whoever reads the response: the final status and the lengths.
    struct Response: Sendable {
        let status: Int
        /// The declared length of the final response, nil when it had none.
        let contentLength: Int?
        let received: Int
    }

    enum Failure: Error {
        /// libcurl could not be opened (`library` is its file name).
        case unavailable(library: String, reason: String)
        /// The server answered with an error status.
        case status(Int)
        case unreachable(reason: String)
        /// The connection ended before the whole body came; `expected` is its declared length.
        case partial(expected: Int?, received: Int, reason: String)
        /// The body grew past the limit (`received`: what had arrived when it was stopped).
        case tooLarge(received: Int)
        case cannotWrite(reason: String)
        case cancelled
    }

    /// No byte for this long (or no connection) ends a transfer, as URLSession's request
    /// timeout did.
    static let idleTimeoutSeconds = 60

    /// The body of `url`, at most `limit` bytes.
    static func data(from url: URL, limit: Int) async throws(Failure) -> Data {
        let transfer = Transfer(descriptor: -1)
        _ = try await transfer.run(url, limit: limit)
        return transfer.body
    }

    /// Writes the body of `url`, at most `limit` bytes, to the open file `descriptor`.
    static func download(from url: URL, to descriptor: Int32, limit: Int) async throws(Failure) -> Response {
        try await Transfer(descriptor: descriptor).run(url, limit: limit)
    }

    /// libcurl's name for itself, for messages and tests.
    static var libraryName: String { String(cString: merd_curl_soname()) }

    /// The C side's sink, result and cancel flag, alive until the transfer's thread is done
    /// with them.
    private final class Transfer: @unchecked Sendable {
        let sink = UnsafeMutablePointer<merd_http_sink>.allocate(capacity: 1)
        let result = UnsafeMutablePointer<merd_http_result>.allocate(capacity: 1)
        let cancelled = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        /// Set by the transfer's thread when libcurl has returned, read by the task before it
        /// touches `sink` or `result`. The continuation alone orders the two in fact, but the
        /// concurrency runtime is uninstrumented and ThreadSanitizer did not always see that
        /// edge (it once reported the sink's buffer as a race); a pthread mutex makes the
        /// hand-over one TSan sees.
        private let finished = Locked(false)

        init(descriptor: Int32) {
            sink.initialize(to: merd_http_sink(fd: descriptor, bytes: nil, count: 0, capacity: 0))
            result.initialize(to: merd_http_result())
            cancelled.initialize(to: 0)
        }

        deinit {
            free(sink.pointee.bytes)
            sink.deallocate()
            result.deallocate()
            cancelled.deallocate()
        }

        /// The memory sink's bytes.
        var body: Data {
            guard let bytes = sink.pointee.bytes else { return Data() }
            return Data(bytes: bytes, count: sink.pointee.count)
        }

        func run(_ url: URL, limit: Int) async throws(Failure) -> Response {
            var reason = [CChar](repeating: 0, count: 512)
            guard merd_curl_open(&reason, reason.count) == 0 else {
                throw .unavailable(library: HTTPTransfer.libraryName, reason: reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
            let address = url.absoluteString
            await withTaskCancellationHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    Thread { [self] in
                        merd_http_get(address, HTTPTransfer.idleTimeoutSeconds, Int64(limit), sink, cancelled, result)
                        finished.withLock { $0 = true }
                        done.resume()
                    }.start()
                }
            } onCancel: {
                merd_http_cancel(cancelled)
            }
            let ended = finished.withLock { $0 }
            precondition(ended, "the transfer's thread resumed before libcurl returned")
            let outcome = result.pointee
            let message = withUnsafeBytes(of: outcome.reason) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let declared = outcome.content_length >= 0 ? Int(outcome.content_length) : nil
            switch outcome.outcome {
            case merd_http_complete:
                return Response(status: outcome.status, contentLength: declared, received: Int(outcome.received))
            case merd_http_status_error: throw .status(outcome.status)
            case merd_http_partial: throw .partial(expected: declared, received: Int(outcome.received), reason: message)
            case merd_http_too_large: throw .tooLarge(received: Int(outcome.received))
            case merd_http_write_failed: throw .cannotWrite(reason: message)
            case merd_http_cancelled: throw .cancelled
            default: throw .unreachable(reason: message)
            }
        }
    }
}
