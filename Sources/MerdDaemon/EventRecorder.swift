import EventHistory
import EventServer
import Foundation
import Locking
import Logging
import MerdEvents

/// Where each event goes as the engine emits it, in `seq` order: counted in the metrics,
/// stored in the history, then published, so that a subscriber replaying from the history
/// never misses one a live subscriber got.
///
/// A failed write (disk full) does not stop the events: they are still published, the
/// replaying subscribers are told they missed them (`dropped`), and the failure is logged
/// once until writes succeed again.
struct EventRecorder: Sendable {
    let history: EventHistory?
    let run: String
    let server: EventServer
    let metrics: DaemonMetrics
    let logger: Logger
    private let failing = Locked<Bool>(false)

    init(history: EventHistory?, run: String, server: EventServer, metrics: DaemonMetrics, logger: Logger) {
        self.history = history
        self.run = run
        self.server = server
        self.metrics = metrics
        self.logger = logger
    }

    func record(_ event: Event) {
        metrics.observe(event)
        let line = event.jsonLine()
        var stored = false
        if let history, let seq = event.seq {
            do {
                try history.append(StoredEvent(seq: seq, run: run, type: event.type, time: Date(), line: line))
                stored = true
                if failing.withLock({ $0 }) {
                    failing.withLock { $0 = false }
                    logger.notice("history: storing events again (from seq \(seq))")
                }
            } catch {
                metrics.historyWriteFailed()
                let first = failing.withLock { failing in
                    defer { failing = true }
                    return !failing
                }
                if first { logger.error("history: \(error.description)") }
            }
        }
        var source: String?
        if case .status(let status) = event { source = status.source }
        server.publish(type: event.type, line: line, seq: event.seq, stored: stored, source: source)
    }
}
