import Foundation
import Locking
import Logging
import ServiceLifecycle

/// Writes the metrics to `metrics.textfile` for node_exporter's textfile collector: at
/// start, every `interval`, and once more at shutdown. Each write replaces the file whole
/// (a temporary file renamed over it), so the collector never reads half of one.
struct MetricsTextfileService: Service {
    let path: String
    let interval: Duration
    let text: @Sendable () -> String
    let logger: Logger

    func run() async {
        let failing = Locked<Bool>(false)
        let (path, interval, text, logger) = (path, interval, text, logger)
        @Sendable func write() {
            do {
                try Self.write(text(), to: path)
                if failing.withLock({ $0 }) { logger.notice("metrics: writing \(path) again") }
                failing.withLock { $0 = false }
            } catch {
                let first = failing.withLock { failing in
                    defer { failing = true }
                    return !failing
                }
                if first { logger.warning("metrics: cannot write \(path) (\(error.localizedDescription)); retrying every \(interval)") }
            }
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                write()
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
        write()
    }

    /// Replaces `path` with `text` at once, readable by the collector's user (0644: metrics
    /// hold nothing secret).
    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }
}
