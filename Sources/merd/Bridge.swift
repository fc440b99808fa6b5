import ArgumentParser
import Foundation
import Logging
import MerdBridge
import MerdDaemon
import ServiceLifecycle

/// `merd bridge`: the events, carried to where a fleet collects them.
struct Bridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carry the daemon's events elsewhere (its own process: the daemon keeps no network).",
        subcommands: [BridgeMQTT.self])
}

/// `merd bridge mqtt`: every event on an MQTT broker (docs/operations.md, "Fleet").
struct BridgeMQTT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt",
        abstract: "Publish every event on an MQTT broker at QoS 1, resuming after restarts without losing any.",
        discussion: """
            Each event goes, as the JSON line the daemon sent, to TOPIC/events/utterance, \
            TOPIC/events/face or TOPIC/events/status; TOPIC/status holds, retained, \
            {"state":"online"|"offline",…} for the bridge itself (the broker's last will says \
            offline if the bridge vanishes). The last \
            seq the broker acknowledged is kept in --state, and the bridge resumes the daemon's \
            socket after it (the daemon's history replays what was missed). QoS 1 delivers at \
            least once: after a crash, events in flight are sent again; consumers drop repeats by seq.
            """)

    @Option(help: "mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS.")
    var broker: String
    @Option(help: "Topic prefix; {hostname} is replaced by this machine's name.")
    var topic: String = "merd/{hostname}"
    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"
    @Option(name: .customLong("client-id"), help: "MQTT client id of the persistent session (default merd-bridge-HOSTNAME).")
    var clientID: String?
    @Option(help: "MQTT user name.")
    var username: String?
    @Option(name: .customLong("password-file"), help: "A file whose first line is the MQTT password (never on the command line).")
    var passwordFile: String?
    @Option(name: .customLong("ca-file"), help: "PEM file of the CA that signed the broker's certificate (default: the system's CAs).")
    var caFile: String?
    @Option(name: .customLong("cert-file"), help: "Client certificate (PEM), for brokers that ask for one.")
    var certFile: String?
    @Option(name: .customLong("key-file"), help: "The client certificate's key (PEM).")
    var keyFile: String?
    @Option(help: "Where the last acknowledged seq is kept (default $STATE_DIRECTORY/bridge-mqtt.json, else ~/.local/state/merd/bridge-mqtt.json).")
    var state: String?
    @Option(help: "Resume after this seq instead of the stored one.")
    var since: Int?
    @Option(name: .customLong("max-pending"), help: "Events sent and not yet acknowledged before reading waits.")
    var maxPending = 1000

    func options() throws -> EventBridge.Configuration {
        let address: BrokerAddress
        do { address = try BrokerAddress(broker) } catch { throw CommandFailure.usage(error.description) }
        let hostname = EventBridge.hostname
        let prefix = topic.replacingOccurrences(of: "{hostname}", with: hostname)
        guard !prefix.isEmpty, !prefix.contains("+"), !prefix.contains("#"), !prefix.hasSuffix("/"), !prefix.contains("\0") else {
            throw CommandFailure.usage("--topic \"\(topic)\" is not valid; a topic prefix without wildcards (+, #) or a trailing /, e.g. merd/{hostname}")
        }
        var mqtt = MQTTClient.Options(broker: address, clientID: clientID ?? "merd-bridge-\(hostname)")
        mqtt.username = username
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw CommandFailure.usage("--password-file \(passwordFile): cannot read it")
            }
            mqtt.password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard username != nil else { throw CommandFailure.usage("--password-file needs --username") }
        }
        for (flag, file) in [("--ca-file", caFile), ("--cert-file", certFile), ("--key-file", keyFile)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) { throw CommandFailure.usage("\(flag) \(file): no such readable file") }
        }
        guard (certFile == nil) == (keyFile == nil) else { throw CommandFailure.usage("--cert-file and --key-file go together") }
        if (caFile != nil || certFile != nil) && !address.tls {
            throw CommandFailure.usage("--ca-file and --cert-file are for TLS: give the broker as mqtts://HOST:PORT")
        }
        mqtt.caFile = caFile
        mqtt.certificateFile = certFile
        mqtt.keyFile = keyFile
        guard maxPending >= 1 else { throw CommandFailure.usage("--max-pending must be 1 or more") }
        if let since, since < 0 { throw CommandFailure.usage("--since takes a seq, 0 or more; got \(since)") }
        let statePath = state ?? HistoryLocation.stateDirectory() + "/bridge-mqtt.json"
        var configuration = EventBridge.Configuration(socketPath: socket, topic: prefix, mqtt: mqtt, statePath: statePath)
        configuration.maxPending = maxPending
        configuration.since = since
        return configuration
    }

    func run() async throws {
        let configuration = try options()
        signal(SIGPIPE, SIG_IGN)
        let logger = Logger(label: "merd.bridge")
        logger.info("bridge: \(configuration.socketPath) → \(configuration.mqtt.broker) \(configuration.topic)/…")
        let group = ServiceGroup(services: [EventBridge(configuration: configuration, logger: logger)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do { try await group.run() } catch let error as MQTTError {
            throw CommandFailure.usage(error.description)
        } catch let error as BridgeOptionError {
            throw CommandFailure.usage(error.description)
        }
    }
}
