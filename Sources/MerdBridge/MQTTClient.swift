import CMosquitto
import Foundation
import Locking

/// One MQTT connection through libmosquitto, on a persistent session (clean session off, a
/// fixed client id), with libmosquitto's own network thread: it reconnects with back-off by
/// itself and resends the QoS 1 messages the broker has not acknowledged.
///
/// Publishing never blocks; `onPublished` is told each message id the broker acknowledged
/// (PUBACK), on libmosquitto's thread.
public final class MQTTClient: @unchecked Sendable {
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
    /// libmosquitto's handle. `@unchecked Sendable`: libmosquitto's threaded interface may be
    /// called from any thread (mosquitto_loop_start makes it so); the callbacks' state is
    /// behind `state`.
    private let handle: OpaquePointer
    private let state = Locked<State>(State())

    private struct State {
        var connected = false
        var lastProblem: String?
        var onPublished: (@Sendable (Int32) -> Void)?
        var onConnection: (@Sendable (Bool, String) -> Void)?
        var onMessage: (@Sendable (String, [UInt8], Bool) -> Void)?
    }

    /// libmosquitto's global set-up, once per process.
    private static let library: Void = { _ = mosquitto_lib_init() }()

    /// Makes the client and starts connecting (libmosquitto's thread retries until the broker
    /// answers).
    /// - Throws: `MQTTError` for options libmosquitto refuses (an unreadable CA file).
    public init(options: Options, onConnection: (@Sendable (Bool, String) -> Void)? = nil,
                onPublished: (@Sendable (Int32) -> Void)? = nil) throws(MQTTError) {
        _ = Self.library
        self.options = options
        guard let handle = mosquitto_new(options.clientID, false, nil) else {
            throw .setup("mosquitto_new failed (out of memory, or an empty client id)")
        }
        self.handle = handle
        state.withLock {
            $0.onPublished = onPublished
            $0.onConnection = onConnection
        }
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        do {
            try Self.check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311), "protocol version")
            if let username = options.username {
                try Self.check(mosquitto_username_pw_set(handle, username, options.password), "username")
            }
            if options.broker.tls {
                // No CA file: the system's bundle (Debian's ca-certificates).
                let capath = options.caFile == nil ? "/etc/ssl/certs" : nil
                try Self.check(mosquitto_tls_set(handle, options.caFile, capath, options.certificateFile, options.keyFile, nil),
                               "TLS (CA \(options.caFile ?? "/etc/ssl/certs"))")
            }
            if let will = options.will {
                let bytes = Array(will.payload.utf8)
                try Self.check(mosquitto_will_set(handle, will.topic, Int32(bytes.count), bytes, 1, true), "last will")
            }
            try Self.check(mosquitto_max_inflight_messages_set(handle, options.maxInflight), "max inflight")
            try Self.check(mosquitto_reconnect_delay_set(handle, 1, 30, true), "reconnect delay")
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
        mosquitto_connect_callback_set(handle) { _, object, code in
            guard let object else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(object).takeUnretainedValue()
            let detail = code == 0 ? "connected" : String(cString: mosquitto_connack_string(code))
            client.connectionChanged(code == 0, detail)
        }
        mosquitto_disconnect_callback_set(handle) { _, object, code in
            guard let object else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(object).takeUnretainedValue()
            client.connectionChanged(false, code == 0 ? "disconnected" : "connection lost (\(String(cString: mosquitto_strerror(code))))")
        }
        // libmosquitto's own errors (a TLS handshake refused, a name that does not resolve)
        // come only through its log: a failed attempt is reported like a lost connection.
        mosquitto_log_callback_set(handle) { _, object, level, message in
            guard let object, let message, level & Int32(MOSQ_LOG_ERR) != 0 else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(object).takeUnretainedValue()
            client.problem(String(cString: message))
        }
        mosquitto_message_callback_set(handle) { _, object, message in
            guard let object, let message, let topic = message.pointee.topic else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(object).takeUnretainedValue()
            let count = Int(message.pointee.payloadlen)
            let payload = message.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            client.state.withLock { $0.onMessage }?(String(cString: topic), payload, message.pointee.retain)
        }
        mosquitto_publish_callback_set(handle) { _, object, messageID in
            guard let object else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(object).takeUnretainedValue()
            client.state.withLock { $0.onPublished }?(messageID)
        }
        // A broker that is down now is retried by the network thread: not an error here.
        let first = mosquitto_connect_async(handle, options.broker.host, Int32(options.broker.port), options.keepAliveSeconds)
        if first != MOSQ_ERR_SUCCESS.rawValue {
            state.withLock { $0.lastProblem = Self.describe(first) }
        }
        let started = mosquitto_loop_start(handle)
        guard started == MOSQ_ERR_SUCCESS.rawValue else {
            mosquitto_destroy(handle)
            throw .setup("cannot start the network thread: \(Self.describe(started))")
        }
    }

    deinit {
        mosquitto_loop_stop(handle, true)
        mosquitto_destroy(handle)
    }

    /// Whether the broker has accepted the connection (and not lost it since).
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Why the last connection attempt failed, if it did.
    public var lastProblem: String? { state.withLock { $0.lastProblem } }

    /// An error libmosquitto logged: told once until the next change of connection.
    private func problem(_ detail: String) {
        let listener = state.withLock { state -> (@Sendable (Bool, String) -> Void)? in
            guard state.lastProblem != detail else { return nil }
            state.lastProblem = detail
            return state.onConnection
        }
        listener?(false, detail)
    }

    private func connectionChanged(_ connected: Bool, _ detail: String) {
        let listener = state.withLock { state in
            state.connected = connected
            if !connected { state.lastProblem = detail }
            return state.onConnection
        }
        listener?(connected, detail)
    }

    /// Queues `payload` on `topic` at QoS 1; the message id `onPublished` will report.
    /// Queued while the broker is away, sent once it is back.
    @discardableResult
    public func publish(_ payload: String, topic: String, retain: Bool = false) throws(MQTTError) -> Int32 {
        var messageID: Int32 = 0
        let bytes = Array(payload.utf8)
        let code = bytes.withUnsafeBytes { mosquitto_publish(handle, &messageID, topic, Int32($0.count), $0.baseAddress, 1, retain) }
        // NO_CONN: libmosquitto keeps a QoS 1 message and sends it on reconnecting.
        guard code == MOSQ_ERR_SUCCESS.rawValue || code == MOSQ_ERR_NO_CONN.rawValue else {
            throw .publish(topic: topic, reason: Self.describe(code))
        }
        return messageID
    }

    /// Subscribes to `topic` at QoS 1; its messages (topic, payload, retained) go to `handler`
    /// on libmosquitto's thread.
    public func subscribe(_ topic: String, handler: @escaping @Sendable (String, [UInt8], Bool) -> Void) throws(MQTTError) {
        state.withLock { $0.onMessage = handler }
        let code = mosquitto_subscribe(handle, nil, topic, 1)
        guard code == MOSQ_ERR_SUCCESS.rawValue else { throw .setup("subscribe \(topic): \(Self.describe(code))") }
    }

    /// Ends a subscription.
    public func unsubscribe(_ topic: String) {
        _ = mosquitto_unsubscribe(handle, nil, topic)
    }

    /// Ends the connection cleanly (the broker then does not send the will). Messages not yet
    /// acknowledged stay unacknowledged: the bridge sends them again when it next starts.
    public func disconnect() {
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }

    private static func check(_ code: Int32, _ what: String) throws(MQTTError) {
        guard code == MOSQ_ERR_SUCCESS.rawValue else { throw .setup("\(what): \(describe(code))") }
    }

    private static func describe(_ code: Int32) -> String {
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
