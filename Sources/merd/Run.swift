import MerdDaemon
import MerdEvents
import ArgumentParser
import Foundation
import Logging
import MerdDaemon
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `merd run`: the daemon. Sources → engine → events socket, under systemd or by hand.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: listen and watch, and publish emotion events on a Unix socket.",
        discussion: """
            Settings come from /etc/merd/merd.toml (or --config; systemd/merd.toml documents every key), \
            then these flags. Audio: alsa:NAME or a file; video: /dev/videoN or a file; --input FILE \
            replays a recording in real time as both. "none" turns a source off. A source that fails \
            is reopened with backoff, the other runs on. Under systemd (Type=notify) it reports READY once \
            models are loaded and the socket is open, and pings the watchdog. SIGTERM stops it within 2 s; \
            an utterance still being spoken is dropped (and logged).
            """)

    @Option(help: "The configuration file (default /etc/merd/merd.toml, used when it exists).")
    var config: String?
    @Option(help: "alsa:NAME, a media file replayed in real time, or none.")
    var audio: String?
    @Option(help: "/dev/videoN, a media file replayed in real time, or none.")
    var video: String?
    @Option(help: "A recorded file replayed in real time as both sources (overrides --audio and --video).")
    var input: String?
    @Option(help: "The events socket.")
    var socket: String?
    @OptionGroup var modelsOption: ModelsOption
    @Option(help: "HuBERT layers pooled per utterance.")
    var layers: String?
    @OptionGroup var speechDetector: SpeechDetectorOption
    @Option(name: .customLong("queue-size"), help: "Events queued per subscriber before the oldest are dropped.")
    var queueSize: Int?
    @Option(help: "Matrix and convolution backend: openblas or onednn (compute.backend; default $MERD_COMPUTE, else the faster on this CPU: onednn with AVX-512; with AVX2 only, onednn unless openblas runs live speech's products clearly faster, timed at start, and then onednn for the face CNN encoders' convolutions).")
    var backend: String?
    @Option(help: "f32, or bf16 on a CPU with AVX512_BF16 or AMX (compute.precision; default f32).")
    var precision: String?
    @Option(help: "The events history, a SQLite file, or none (history.path; default $STATE_DIRECTORY/history.sqlite under systemd, else ~/.local/state/merd/history.sqlite).")
    var history: String?

    /// The file's settings with the flags over them; a flag is checked as its key in the
    /// file is.
    func settings() throws -> DaemonConfiguration {
        var settings: DaemonConfiguration
        do {
            settings = try DaemonConfiguration.load(path: config ?? DaemonConfiguration.defaultPath, required: config != nil)
        } catch let problem as DaemonConfiguration.Problem {
            throw CommandFailure.usage(problem.description)
        }
        if let audio {
            do { settings.audio = try SourceSpec.audio(audio) } catch { throw CommandFailure.usage("--audio: \(error.description)") }
        }
        if let video {
            do { settings.video = try SourceSpec.video(video) } catch { throw CommandFailure.usage("--video: \(error.description)") }
        }
        if let input { settings.input = input }
        // Each flag through the same check as its key in the file.
        func flag<Value>(_ name: String, _ body: () throws(DaemonConfiguration.Invalid) -> Value) throws(CommandFailure) -> Value {
            do { return try body() } catch { throw .usage("\(name) \(error.description)") }
        }
        if let socket { settings.socketPath = try flag("--socket") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.socketPath(socket) } }
        if let models = modelsOption.models { settings.models = models }
        if let layers {
            let parsed = try CommaSeparated.layers(layers)
            settings.layers = try flag("--layers") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.layers(parsed) }
        }
        if let history { settings.historyPath = try flag("--history") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.historyPath(history) } }
        if let queueSize { settings.queueSize = try flag("--queue-size") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.queueSize(queueSize) } }
        if let kind = try speechDetector.kind() { settings.speechDetector = kind }
        if let backend { settings.computeBackend = try flag("--backend") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.computeBackend(backend) } }
        if let precision { settings.computePrecision = try flag("--precision") { () throws(DaemonConfiguration.Invalid) in try DaemonConfiguration.computePrecision(precision) } }
        _ = try flag(precision != nil ? "--precision" : "--backend") { () throws(DaemonConfiguration.Invalid) in try settings.compute(over: .openBLAS) }
        return settings
    }

    func run() async throws {
        let settings = try settings()
        let logger = {
            var logger = Logger(label: "merd")
            logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
            return logger
        }()
        // Sockets are written with MSG_NOSIGNAL; a pipe elsewhere must not end the daemon.
        signal(SIGPIPE, SIG_IGN)
        // SIGHUP and SIGUSR1/2 end a process by default; the daemon logs them once its
        // services run (SignalService), and until then, while models load, they must not
        // end it either (seen under AddressSanitizer, whose slower start widened the window).
        for ignored in [SIGHUP, SIGUSR1, SIGUSR2] { signal(ignored, SIG_IGN) }
        // swift-metrics' backend for the whole process: the engine's metrics and the daemon's
        // share one Prometheus registry.
        let daemon = Daemon(configuration: settings, logger: logger, metrics: DaemonMetrics(registry: DaemonMetrics.bootstrap()))
        // The group takes SIGTERM and SIGINT from the start, so a stop during model loading is
        // a clean exit too.
        let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch let error as DaemonError {
            if case .unavailable = error { throw CommandFailure.runtime(error.description) }
            throw CommandFailure.usage(error.description)
        } catch let error as ModelStoreError {
            throw CommandFailure.usage(error.description)
        }
    }
}
