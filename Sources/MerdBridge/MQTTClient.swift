import CMosquitto
import Foundation
import Locking
import MediaTypes

/// One MQTT connection through libmosquitto, on a persistent session (clean session off, a
/// fixed client id), served by a network thread of its own that reconnects with back-off and
/// resends the QoS 1 messages the broker has not acknowledged.
///
/// The thread is ours, not `mosquitto_loop_start`'s: libmosquitto's loop gives up for good
/// after a TLS, protocol or authentication error (a broker certificate that does not verify,
/// once), and a bridge that runs for weeks must keep trying, and keep saying why it fails.
///
/// Publishing never blocks; `onPublished` is told each message id the broker acknowledged
/// (PUBACK), on the network thread.
public final class MQTTClient: Sendable {
    /// How to reach the broker and who to be there.
    public struct Options: Sendable {
        public var broker: BrokerAddress
        public var clientID: String
        public var username: String?
        public var password: String?
        /// PEM file of the CA that signed the broker's certificate (`mqtts://`); nil: the
        /// system's CAs.
        public var caFile: String?
        /// A client certificate and its key, for brokers that ask for one.
        public var certificateFile: String?
        public var keyFile: String?
        /// The message the broker publishes for us if we vanish (the last will).
        public var will: (topic: String, payload: String)?
        public var keepAliveSeconds: Int32 = 30
        /// QoS 1 messages sent but not yet acknowledged, at most (the rest wait in libmosquitto).
        public var maxInflight: UInt32 = 64

        public init(broker: BrokerAddress, clientID: String) {
            self.broker = broker
            self.clientID = clientID
        }
    }

    public let options: Options
    /// libmosquitto's handle, set to threaded mode: its functions may be called from any
    /// thread while the network thread runs its loop.
    private let handle: Handle
    /// What libmosquitto's callbacks reach (through its user data): held by the network
    /// thread too, so a callback never touches a client being deinitialised.
    private let link: Link

    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    fileprivate final class Link: Sendable {
        let state = Locked<State>(State())
        /// Set to end the network thread; `wake` cuts its wait between attempts short, and
        /// `finished` is signalled when it has ended.
        let stopping = Locked(false)
        let wake = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let started = Locked(false)
    }

    fileprivate struct State {
        var connected = false
        /// The problems told since the last connection: a broker that keeps refusing is
        /// reported once per reason, not at every attempt.
        var told: Set<String> = []
        var onPublished: (@Sendable (Int32) -> Void)?
        var onConnection: (@Sendable (Bool, String) -> Void)?
        var onMessage: (@Sendable (String, [UInt8], Bool) -> Void)?
    }

    /// libmosquitto's global set-up, once per process.
    private static let library: Void = { _ = mosquitto_lib_init() }()

    /// Makes the client; `start()` begins connecting. `onConnection` hears each connection,
    /// loss and failed attempt (false, and why) on the network thread.
    /// - Throws: `MQTTError` for options libmosquitto refuses (an unreadable CA file).
    public init(options: Options, onConnection: (@Sendable (Bool, String) -> Void)? = nil,
                onPublished: (@Sendable (Int32) -> Void)? = nil) throws(MQTTError) {
        _ = Self.library
        self.options = options
        let link = Link()
        self.link = link
        guard let pointer = mosquitto_new(options.clientID, false, Unmanaged.passUnretained(link).toOpaque()) else {
            throw .setup("mosquitto_new failed (out of memory, or an empty client id)")
        }
        handle = Handle(pointer: pointer)
        link.state.withLock {
            $0.onPublished = onPublished
            $0.onConnection = onConnection
        }
        do {
            try Self.check(mosquitto_threaded_set(pointer, true), "threaded mode")
            try Self.check(mosquitto_int_option(pointer, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311), "protocol version")
            if let username = options.username {
                try Self.check(mosquitto_username_pw_set(pointer, username, options.password), "username")
            }
            if options.broker.tls {
                // No CA file: the system's bundle (Debian's ca-certificates).
                let capath = options.caFile == nil ? "/etc/ssl/certs" : nil
                try Self.check(mosquitto_tls_set(pointer, options.caFile, capath, options.certificateFile, options.keyFile, nil),
                               "TLS (CA \(options.caFile ?? "/etc/ssl/certs"))")
            }
            if let will = options.will {
                let bytes = Array(will.payload.utf8)
                try Self.check(mosquitto_will_set(pointer, will.topic, Int32(bytes.count), bytes, 1, true), "last will")
            }
            try Self.check(mosquitto_max_inflight_messages_set(pointer, options.maxInflight), "max inflight")
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
        mosquitto_connect_callback_set(pointer) { _, object, code in
            guard let object else { return }
            let detail = code == 0 ? "connected" : String(cString: mosquitto_connack_string(code))
            MQTTClient.link(object).connectionChanged(code == 0, detail)
        }
        mosquitto_disconnect_callback_set(pointer) { _, object, code in
            guard let object else { return }
            MQTTClient.link(object).connectionChanged(false, code == 0 ? "disconnected" : "connection lost (\(String(cString: mosquitto_strerror(code))))")
        }
        // libmosquitto's own errors (a TLS handshake refused, a name that does not resolve)
        // come only through its log: a failed attempt is reported like a lost connection.
        mosquitto_log_callback_set(pointer) { _, object, level, message in
            guard let object, let message, level & Int32(MOSQ_LOG_ERR) != 0 else { return }
            MQTTClient.link(object).problem(String(cString: message))
        }
        mosquitto_message_callback_set(pointer) { _, object, message in
            guard let object, let message, let topic = message.pointee.topic else { return }
            let count = Int(message.pointee.payloadlen)
            let payload = message.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            MQTTClient.link(object).state.withLock { $0.onMessage }?(String(cString: topic), payload, message.pointee.retain)
        }
        mosquitto_publish_callback_set(pointer) { _, object, messageID in
            guard let object else { return }
            MQTTClient.link(object).state.withLock { $0.onPublished }?(messageID)
        }
    }

    fileprivate static func link(_ object: UnsafeMutableRawPointer) -> Link { Unmanaged<Link>.fromOpaque(object).takeUnretainedValue() }

    /// Starts the network thread, which connects (and reconnects) until `disconnect()`. Once;
    /// later calls do nothing. A broker that is down is retried, not an error.
    public func start() {
        guard !link.started.withLock({ started in defer { started = true }; return started }) else { return }
        let (handle, link, options) = (handle, link, options)
        let thread = Thread {
            Self.serve(handle.pointer, link: link, options: options)
            link.finished.signal()
        }
        thread.name = "merd-mqtt"
        thread.start()
    }

    /// The network loop: libmosquitto's packets while connected; after any failure (refused,
    /// lost, a TLS or protocol error), a wait (1, 2, 4 … 30 s: `Backoff`) and a new attempt,
    /// until stopped.
    private static func serve(_ pointer: OpaquePointer, link: Link, options: Options) {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        var code = mosquitto_connect_async(pointer, options.broker.host, Int32(options.broker.port), options.keepAliveSeconds)
        // After disconnect(): the DISCONNECT packet still goes out, for a second at most.
        var stopDeadline: ContinuousClock.Instant?
        while true {
            if link.stopping.withLock({ $0 }) {
                let deadline = stopDeadline ?? .now + .seconds(1)
                stopDeadline = deadline
                if code != MOSQ_ERR_SUCCESS.rawValue || ContinuousClock.now >= deadline { return }
            }
            if code == MOSQ_ERR_SUCCESS.rawValue {
                code = mosquitto_loop(pointer, 250, 1)
                if link.state.withLock({ $0.connected }) { backoff.reset() }
                continue
            }
            if link.stopping.withLock({ $0 }) { return }
            // Lost connections and a broker's refusal (CONNACK) were told by the callbacks; an
            // attempt that failed otherwise (no listener, no such host, a TLS error) is told here.
            if ![MOSQ_ERR_NO_CONN, MOSQ_ERR_CONN_LOST, MOSQ_ERR_CONN_REFUSED].map(\.rawValue).contains(code) { link.problem(describe(code)) }
            _ = link.wake.wait(timeout: .now() + .milliseconds(Int(backoff.nextDelay().seconds * 1000)))
            if link.stopping.withLock({ $0 }) { return }
            code = mosquitto_reconnect_async(pointer)
        }
    }

    deinit {
        stopThread()
        mosquitto_destroy(handle.pointer)
    }

    /// Ends the network thread and waits for it (it was started).
    private func stopThread() {
        link.stopping.withLock { $0 = true }
        link.wake.signal()
        if link.started.withLock({ $0 }) {
            link.finished.wait()
            link.finished.signal()  // a second stop (disconnect, then deinit) does not wait forever
        }
    }

    /// Whether the broker has accepted the connection (and not lost it since).
    public var isConnected: Bool { link.state.withLock { $0.connected } }

    /// Queues `payload` on `topic` at QoS 1; the message id `onPublished` will report.
    /// Queued while the broker is away, sent once it is back.
    @discardableResult
    public func publish(_ payload: String, topic: String, retain: Bool = false) throws(MQTTError) -> Int32 {
        var messageID: Int32 = 0
        let bytes = Array(payload.utf8)
        let code = bytes.withUnsafeBytes { mosquitto_publish(handle.pointer, &messageID, topic, Int32($0.count), $0.baseAddress, 1, retain) }
        // NO_CONN: libmosquitto keeps a QoS 1 message and sends it on reconnecting.
        guard code == MOSQ_ERR_SUCCESS.rawValue || code == MOSQ_ERR_NO_CONN.rawValue else {
            throw .publish(topic: topic, reason: Self.describe(code))
        }
        return messageID
    }

    /// Subscribes to `topic` at QoS 1; its messages (topic, payload, retained) go to `handler`
    /// on the network thread.
    public func subscribe(_ topic: String, handler: @escaping @Sendable (String, [UInt8], Bool) -> Void) throws(MQTTError) {
        link.state.withLock { $0.onMessage = handler }
        let code = mosquitto_subscribe(handle.pointer, nil, topic, 1)
        guard code == MOSQ_ERR_SUCCESS.rawValue else { throw .setup("subscribe \(topic): \(Self.describe(code))") }
    }

    /// Ends a subscription.
    public func unsubscribe(_ topic: String) {
        _ = mosquitto_unsubscribe(handle.pointer, nil, topic)
    }

    /// Ends the connection cleanly (the broker then does not send the will). Messages not yet
    /// acknowledged stay unacknowledged: the bridge sends them again when it next starts.
    public func disconnect() {
        mosquitto_disconnect(handle.pointer)
        stopThread()
    }

    private static func check(_ code: Int32, _ what: String) throws(MQTTError) {
        guard code == MOSQ_ERR_SUCCESS.rawValue else { throw .setup("\(what): \(describe(code))") }
    }

    fileprivate static func describe(_ code: Int32) -> String {
        if code == MOSQ_ERR_ERRNO.rawValue { return String(cString: strerror(errno)) }
        return String(cString: mosquitto_strerror(code))
    }
}

/// Why the MQTT client cannot be set up or a message not queued.
public enum MQTTError: Error, Equatable, CustomStringConvertible {
    case setup(String)
    case publish(topic: String, reason: String)

    public var description: String {
        switch self {
        case .setup(let reason): return "MQTT: \(reason)"
        case .publish(let topic, let reason): return "MQTT: cannot publish on \(topic): \(reason)"
        }
    }
}

extension MQTTClient.Link {
    /// A failed attempt or an error libmosquitto logged: told once per reason until the next
    /// connection.
    func problem(_ detail: String) {
        connectionChanged(false, detail)
    }

    /// Told always when connected (or cleanly disconnected); a failure only the first time
    /// since the last connection.
    func connectionChanged(_ connected: Bool, _ detail: String) {
        let listener = state.withLock { state -> (@Sendable (Bool, String) -> Void)? in
            state.connected = connected
            if connected {
                state.told = []
                return state.onConnection
            }
            return state.told.insert(detail).inserted ? state.onConnection : nil
        }
        listener?(connected, detail)
    }
}
