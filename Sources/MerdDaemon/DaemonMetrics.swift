import CoreMetrics
import Locking
import MerdEvents
import Prometheus

/// The daemon's metrics in Prometheus' text format, answered on the events socket
/// (`{"metrics": true}`) and written to `metrics.textfile`: the daemon keeps
/// `PrivateNetwork=yes`, so nothing listens on a port for a scraper.
///
/// Counted here, from the events as they leave: `merd_events_total{type}`, the end-of-speech
/// latency histogram `merd_utterance_latency_seconds`, `merd_audio_overruns_total` and
/// `merd_video_frames_dropped_total` (from each source's `status` counts), and the history's
/// failed writes. Read from the events server when asked: `merd_subscribers` and
/// `merd_subscriber_dropped_events_total`. The engine's own (frames analysed, inference
/// times: `EngineMetrics`) reach the same registry through swift-metrics once `merd run`
/// bootstrapped it (`bootstrap()`).
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let events: [String: CoreMetrics.Counter]
    private let latency: CoreMetrics.Timer
    private let overruns: CoreMetrics.Counter
    private let droppedFrames: CoreMetrics.Counter
    private let subscribers: CoreMetrics.Gauge
    private let subscriberDropped: CoreMetrics.Counter
    private let historyWriteErrors: CoreMetrics.Counter
    /// Each source's counts in its last `status` (they restart at 0 when it is reopened), and
    /// the server's dropped total when last read.
    private let last = Locked<(sources: [String: (overruns: Int, dropped: Int)], serverDropped: Int)>(([:], 0))

    /// Buckets of the end-of-speech latency: merd aims at 200 ms (PERF.md); the hangover
    /// alone is 240 ms.
    static let latencyBuckets: [Duration] = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5].map { .milliseconds(Int($0 * 1000)) }

    /// A factory over `registry` with merd's histogram buckets.
    static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["merd_utterance_latency_seconds"] = latencyBuckets
        // Model stages: from a face frame (~10 ms) to a long utterance's last window (~1 s).
        factory.durationHistogramBuckets["merd_inference_seconds"] = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
            .map { .microseconds(Int($0 * 1_000_000)) }
        // The engine's share of the latency: ~1 ms when the last window ran ahead of the end,
        // a window's time or more when it did not.
        factory.durationHistogramBuckets["merd_utterance_finish_seconds"] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]
            .map { .microseconds(Int($0 * 1_000_000)) }
        return factory
    }

    /// Makes swift-metrics' process-wide backend a Prometheus registry (once per process:
    /// `merd run`), so the engine's metrics land beside the daemon's.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(registry))
        return registry
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = Self.factory(registry)
        events = Dictionary(uniqueKeysWithValues: EventType.allCases.map {
            ($0.rawValue, CoreMetrics.Counter(label: "merd_events_total", dimensions: [("type", $0.rawValue)], factory: factory))
        })
        latency = CoreMetrics.Timer(label: "merd_utterance_latency_seconds", factory: factory)
        overruns = CoreMetrics.Counter(label: "merd_audio_overruns_total", factory: factory)
        droppedFrames = CoreMetrics.Counter(label: "merd_video_frames_dropped_total", factory: factory)
        subscribers = CoreMetrics.Gauge(label: "merd_subscribers", factory: factory)
        subscriberDropped = CoreMetrics.Counter(label: "merd_subscriber_dropped_events_total", factory: factory)
        historyWriteErrors = CoreMetrics.Counter(label: "merd_history_write_errors_total", factory: factory)
    }

    /// Counts an event as it leaves.
    public func observe(_ event: Event) {
        guard let type = event.eventType else { return }
        events[type.rawValue]?.increment()
        switch event {
        case .utterance(let utterance):
            latency.recordMilliseconds(utterance.latencyMilliseconds)
        case .status(let status):
            let (newOverruns, newDropped) = last.withLock { last -> (Int, Int) in
                let before = last.sources[status.source] ?? (0, 0)
                last.sources[status.source] = (status.overruns, status.droppedFrames)
                // A reopened source counts from 0 again.
                func delta(_ now: Int, _ then: Int) -> Int { now >= then ? now - then : now }
                return (delta(status.overruns, before.overruns), delta(status.droppedFrames, before.dropped))
            }
            if newOverruns > 0 { overruns.increment(by: newOverruns) }
            if newDropped > 0 { droppedFrames.increment(by: newDropped) }
        case .hello, .face:
            break
        }
    }

    /// A write to the history failed.
    public func historyWriteFailed() { historyWriteErrors.increment() }

    /// The metrics as Prometheus text, after reading the server's subscriber counts.
    public func text(subscribers count: Int, subscriberDropped droppedTotal: Int) -> String {
        subscribers.record(count)
        let newly = last.withLock { last -> Int in
            defer { last.serverDropped = max(last.serverDropped, droppedTotal) }
            return max(0, droppedTotal - last.serverDropped)
        }
        if newly > 0 { subscriberDropped.increment(by: newly) }
        return Self.withHelp(registry.emitToString())
    }

    /// What each metric means, as `# HELP` lines (swift-metrics' API carries no help text,
    /// and Prometheus' linter asks for it).
    static let help: [String: String] = [
        "merd_events_total": "Events emitted, by type.",
        "merd_utterance_latency_seconds": "From the end of speech to the utterance event.",
        "merd_audio_overruns_total": "Audio capture overruns (samples the microphone lost).",
        "merd_video_frames_dropped_total": "Video frames the camera source dropped.",
        "merd_video_frames_total": "Video frames received.",
        "merd_video_frames_analysed_total": "Video frames the face stage analysed (the rest are sampled out: engine.face_fps).",
        "merd_utterances_unseen_speaker_total": "Utterances not reported because no visible face spoke them (engine.require_visible_speaker).",
        "merd_inference_seconds": "Time of each model stage as it runs, by stage.",
        "merd_utterance_finish_seconds": "From the segmenter's confirmed end of an utterance to its event: the engine's share of the latency.",
        "merd_subscribers": "Subscribers connected to the events socket.",
        "merd_subscriber_dropped_events_total": "Events dropped from subscribers' queues (they read too slowly) or missed by a replay.",
        "merd_history_write_errors_total": "Events the history could not store (they were still sent live).",
    ]

    /// `text` with a `# HELP` line before each known family's `# TYPE` line.
    static func withHelp(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let help = help[String(name)] {
                lines.append("# HELP \(name) \(help)")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
