import EventsClient
import Foundation
import Locking
import Logging
import MerdEvents
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `merd bridge mqtt`: the daemon's events on an MQTT broker, for a fleet's consumers.
///
/// It reads the events socket like any subscriber and publishes each event, as the line the
/// daemon sent, on `TOPIC/events/<type>` at QoS 1 on a persistent session. Nothing is lost across a
/// restart of the bridge, the daemon or the broker: the bridge stores the last `seq` the broker
/// acknowledged and resumes the socket after it (`since`, from the daemon's history); while the
/// broker is away, libmosquitto keeps what is unacknowledged and the bridge stops reading
/// (after `maxPending`), and a `dropped` notice from the daemon makes it resume from the
/// history.
///
/// After each event the bridge also publishes, retained, `{"seq": N}` on `TOPIC/bridge/seq`.
/// One connection delivers in order, so when the broker holds that marker it holds every
/// event up to N: a bridge that starts again (after a kill, with acknowledgements it did not
/// live to store) reads the marker first and resumes after it, and sends nothing twice. QoS 1
/// is still at-least-once where libmosquitto resends what a broker that went away had not
/// acknowledged; consumers drop such repeats by `seq`.
///
/// `TOPIC/status` holds, retained, `{"state":"online",…}` while the bridge runs and
/// `{"state":"offline",…}` after it stops or vanishes (the broker's last will).
public struct EventBridge: Service {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// Topics start with this (`merd/kitchen`): `TOPIC/events/utterance`, …, `TOPIC/status`.
        public var topic: String
        public var mqtt: MQTTClient.Options
        /// The last acknowledged `seq`, kept across restarts.
        public var statePath: String
        /// Events handed to MQTT and not yet acknowledged, at most; then the socket waits.
        public var maxPending = 1000
        /// Resume after this seq instead of the stored one (nil: the stored one; without a
        /// stored one, live events only).
        public var since: Int?

        public init(socketPath: String, topic: String, mqtt: MQTTClient.Options, statePath: String) {
            self.socketPath = socketPath
            self.topic = topic
            self.mqtt = mqtt
            self.statePath = statePath
        }
    }

    public let configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The hostname, for `{hostname}` in a topic and the default client id.
    public static var hostname: String {
        ProcessInfo.processInfo.hostName
    }

    public func run() async throws {
        let worker = try BridgeWorker(configuration: configuration, logger: logger)
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    worker.serve()
                    continuation.resume()
                }
                thread.name = "merd-bridge"
                thread.start()
            }
        } onGracefulShutdown: {
            worker.stop()
        }
    }
}

/// The bridge's loop, on a thread of its own: socket in, MQTT out.
final class BridgeWorker: Sendable {
    let configuration: EventBridge.Configuration
    let logger: Logger
    private let client: MQTTClient
    private let progress: Locked<BridgeProgress>
    private let stopping = Locked(false)
    private let daemon = Locked<(connected: Bool, run: String?)>((false, nil))
    /// The seq in the state file.
    private let saved = Locked<Int?>(nil)

    init(configuration: EventBridge.Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let stored = try BridgeState.load(configuration.statePath)
        let start = configuration.since ?? stored
        progress = Locked(BridgeProgress(resumingAfter: start))
        if let start {
            logger.info("bridge: resuming after seq \(start)\(configuration.since == nil ? " (\(configuration.statePath))" : "")")
        } else {
            logger.info("bridge: first start (no \(configuration.statePath)): bridging live events from now on")
        }
        var options = configuration.mqtt
        options.will = ("\(configuration.topic)/status", Self.statusPayload(state: "offline", reason: "connection lost", daemon: nil))
        // The callbacks need the worker, which needs the client: they find it through a box.
        let box = Locked<BridgeWorker?>(nil)
        client = try MQTTClient(options: options, onConnection: { connected, detail in
            box.withLock { $0 }?.brokerChanged(connected, detail)
        }, onPublished: { id in
            box.withLock { $0 }?.acknowledged(id)
        })
        box.withLock { $0 = self }
        // Only now: a failure told before the box held the worker would be lost.
        client.start()
    }

    func stop() { stopping.withLock { $0 = true } }
    private var isStopping: Bool { stopping.withLock { $0 } }

    // MARK: MQTT side

    private func brokerChanged(_ connected: Bool, _ detail: String) {
        if connected {
            logger.info("bridge: broker \(configuration.mqtt.broker) \(detail)")
            publishStatus()
        } else if !isStopping {
            logger.warning("bridge: broker \(configuration.mqtt.broker): \(detail); retrying")
        }
    }

    private func acknowledged(_ id: Int32) {
        let moved = progress.withLock { $0.acknowledged(id: id) }
        if moved { saveProgress() }
    }

    /// Writes the acknowledged seq after each acknowledgement that moves it: a bridge killed
    /// then sends again only what was in flight (a rename of a few bytes; the events come at
    /// tens a second at most).
    private func saveProgress() {
        // Under one lock, so the file only ever moves forward, written by one thread at a time.
        saved.withLock { saved in
            guard let seq = progress.withLock({ $0.lastAcknowledged }), saved != seq else { return }
            do {
                try BridgeState.save(seq, to: configuration.statePath)
                saved = seq
            } catch {
                logger.error("bridge: cannot store progress in \(configuration.statePath) (\(error.localizedDescription)); a restart may send events again")
            }
        }
    }

    static func statusPayload(state: String, reason: String?, daemon: (connected: Bool, run: String?)?) -> String {
        var fields: [String: String] = ["state": state, "host": EventBridge.hostname, "time": WallClock.rfc3339(Date())]
        if let reason { fields["reason"] = reason }
        if let daemon {
            fields["daemon"] = daemon.connected ? "connected" : "unreachable"
            if let run = daemon.run { fields["run"] = run }
        }
        return EventCoding.line(fields)
    }

    private func publishStatus() {
        let payload = Self.statusPayload(state: "online", reason: nil, daemon: daemon.withLock { $0 })
        do {
            let id = try client.publish(payload, topic: "\(configuration.topic)/status", retain: true)
            _ = progress.withLock { $0.published(seq: nil, id: id) }
        } catch {
            logger.warning("bridge: \(error.description)")
        }
    }

    // MARK: Socket side

    func serve() {
        resumeAfterBrokersMarker()
        var backoff = 0.25
        var warnedNoHistory = false
        while !isStopping {
            guard let connection = connect() else {
                sleep(seconds: backoff)
                backoff = min(5, backoff * 2)
                continue
            }
            backoff = 0.25
            let since = progress.withLock { $0.lastPublished }
            connection.send(SubscribeRequest(typeNames: nil, since: since).jsonLine())
            let outcome = read(connection, warnedNoHistory: &warnedNoHistory)
            connection.close()
            daemon.withLock { $0.connected = false }
            publishStatus()
            if case .lost(let reason) = outcome, !isStopping {
                logger.warning("bridge: events socket \(configuration.socketPath): \(reason); reconnecting")
            }
        }
        finish()
    }

    private enum ReadOutcome { case lost(String), resume, stopped }

    /// Reads events and publishes them until the socket ends, the daemon reports dropped
    /// events (then the caller resumes from the history), or the bridge stops.
    private func read(_ connection: EventsConnection, warnedNoHistory: inout Bool) -> ReadOutcome {
        while !isStopping {
            // Backpressure: while the broker acknowledges nothing, stop taking events.
            if progress.withLock({ $0.pendingCount }) >= configuration.maxPending {
                sleep(seconds: 0.05)
                continue
            }
            let line: String
            switch connection.next(timeoutMilliseconds: 200) {
            case .line(let text): line = text
            case .timeout: continue
            case .closed(let reason): return .lost(reason)
            }
            guard let envelope = try? EventCoding.decode(Envelope.self, from: Array(line.utf8)) else {
                logger.warning("bridge: skipped a line that is not an event: \(line.prefix(200))")
                continue
            }
            switch envelope.type {
            case "hello":
                daemon.withLock { $0 = (true, envelope.run) }
                publishStatus()
            case "dropped":
                // The daemon's queue for us overflowed: what was lost is in its history.
                logger.notice("bridge: the daemon dropped \(envelope.count ?? 0) events for this bridge; resuming from its history")
                return .resume
            case "error":
                if envelope.message?.contains("since") == true {
                    if !warnedNoHistory {
                        logger.warning("bridge: the daemon keeps no history (\(envelope.message ?? "")): events while the bridge is away are lost")
                    }
                    warnedNoHistory = true
                } else {
                    logger.warning("bridge: the daemon says: \(envelope.message ?? line)")
                }
            default:
                guard let seq = envelope.seq else { continue }
                do {
                    let id = try client.publish(line, topic: "\(configuration.topic)/events/\(envelope.type)")
                    if progress.withLock({ $0.published(seq: seq, id: id) }) { saveProgress() }
                    let marker = try client.publish(EventCoding.line(["seq": seq]), topic: markerTopic, retain: true)
                    _ = progress.withLock { $0.published(seq: nil, id: marker) }
                } catch {
                    logger.error("bridge: \(error.description)")
                    return .lost("publishing failed")
                }
            }
        }
        return .stopped
    }

    /// Waits (up to 3 s) for the broker to acknowledge what is in flight, says `offline`,
    /// stores the progress and disconnects.
    private func finish() {
        let deadline = ContinuousClock.now + .seconds(3)
        while progress.withLock({ $0.pendingCount }) > 0, client.isConnected, ContinuousClock.now < deadline { sleep(seconds: 0.02) }
        if client.isConnected, let id = try? client.publish(Self.statusPayload(state: "offline", reason: "stopped", daemon: nil),
                                                            topic: "\(configuration.topic)/status", retain: true) {
            _ = progress.withLock { $0.published(seq: nil, id: id) }
            // Until the broker has it (its acknowledgement), at most a second.
            let deadline = ContinuousClock.now + .seconds(1)
            while progress.withLock({ $0.pending[id] != nil }), ContinuousClock.now < deadline { sleep(seconds: 0.01) }
        }
        saveProgress()
        client.disconnect()
        let left = progress.withLock { $0.pendingCount }
        logger.info("bridge: stopped\(left > 0 ? "; \(left) events unacknowledged are sent again at the next start" : "")")
    }

    /// Where the broker keeps, retained, the newest seq it has of this bridge.
    private var markerTopic: String { "\(configuration.topic)/bridge/seq" }

    /// Waits for the broker (reading the socket before it would only fill libmosquitto's
    /// queue), then reads the retained marker and resumes after it when it is further than
    /// the stored progress. A broker without retained messages, or none yet: the stored
    /// progress stands (after 2 s). An explicit `--since` is kept as given.
    private func resumeAfterBrokersMarker() {
        while !client.isConnected && !isStopping { sleep(seconds: 0.05) }
        guard configuration.since == nil, !isStopping else { return }
        let marker = Locked<Int?>(nil)
        do {
            try client.subscribe(markerTopic) { _, payload, _ in
                guard let seq = (try? JSONDecoder().decode([String: Int].self, from: Data(payload)))?["seq"] else { return }
                marker.withLock { $0 = max($0 ?? 0, seq) }
            }
        } catch {
            logger.warning("bridge: \(error.description); resuming from the stored progress")
            return
        }
        let deadline = ContinuousClock.now + .seconds(2)
        while marker.withLock({ $0 }) == nil, ContinuousClock.now < deadline, !isStopping { sleep(seconds: 0.02) }
        client.unsubscribe(markerTopic)
        guard let seq = marker.withLock({ $0 }) else { return }
        if progress.withLock({ $0.brokerHolds(seq) }) {
            logger.info("bridge: the broker already has events up to seq \(seq) (\(markerTopic)); resuming after it")
            saveProgress()
        }
    }

    private func connect() -> EventsConnection? {
        do { return try EventsConnection(path: configuration.socketPath) } catch {
            let first = daemon.withLock { state -> Bool in
                defer { state.connected = false }
                return state.connected || state.run == nil
            }
            if first { logger.warning("bridge: \(error.description); retrying") }
            return nil
        }
    }

    private func sleep(seconds: Double) { usleep(UInt32(seconds * 1_000_000)) }

    /// The fields of a line the bridge looks at.
    struct Envelope: Decodable {
        let type: String
        let seq: Int?
        let run: String?
        let count: Int?
        let message: String?
    }
}
