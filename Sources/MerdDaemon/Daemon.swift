import Locking
import CaptureV4L2
import EventHistory
import EventServer
import Foundation
import Logging
import MediaCodec
import MediaTypes
import MerdEvents
import NeuralKit
import ServiceLifecycle
import StreamEngine

/// `merd run` as a service: loads the models, opens the events socket, then runs the events
/// server, the engine, a supervisor per source, the watchdog and the signal log as one
/// `ServiceGroup`.
///
/// Shutdown (SIGTERM, SIGINT: graceful shutdown of the group this service runs in) is the
/// group's reverse start order: the signal log and watchdog, the sources (the utterance being
/// spoken is dropped), the engine (ended utterances are finished, a last `daemon stopped`
/// status), and the events server last (it sends what subscribers can take, then closes), so
/// nothing is published after the socket closed. A shutdown during start abandons the
/// models being loaded and returns at once.
public struct Daemon: Service {
    public typealias ModelLoader = @Sendable (_ configuration: DaemonConfiguration, _ faces: Bool, _ logger: Logger) throws -> EngineModels

    public let configuration: DaemonConfiguration
    public let logger: Logger
    public let notifier: SystemdNotifier
    public let environment: [String: String]
    private let loadModels: ModelLoader
    /// Told once the socket listens and the services start (tests hold the server here).
    private let started: (@Sendable (EventServer, Engine) -> Void)?
    /// Where the metrics are kept (`merd run` bootstraps swift-metrics with the same
    /// registry, so the engine's land there too).
    public let metrics: DaemonMetrics

    public init(configuration: DaemonConfiguration, logger: Logger, notifier: SystemdNotifier = SystemdNotifier(),
                environment: [String: String] = ProcessInfo.processInfo.environment,
                metrics: DaemonMetrics = DaemonMetrics(),
                loadModels: @escaping ModelLoader = Daemon.loadModels,
                started: (@Sendable (EventServer, Engine) -> Void)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.notifier = notifier
        self.environment = environment
        self.metrics = metrics
        self.loadModels = loadModels
        self.started = started
    }

    /// Makes the configured backend and precision the process's, before models load. BF16
    /// on a CPU without it falls back to F32 with a warning (the same models, slower); an
    /// explicit oneDNN that cannot run here is an error, as is anything unknown.
    private func chooseCompute(_ settings: DaemonConfiguration) throws {
        var compute: Compute
        do { compute = try settings.compute(over: Compute.default) } catch { throw DaemonError.usage("compute: \(error.description)") }
        if compute.precision == .bf16, let reason = ComputePrecision.bf16Unavailability {
            logger.warning("compute.precision bf16 is not available here (\(reason)); running in f32")
            compute.precision = .f32
            // bf16 alone implied oneDNN; in F32 the process's default backend is the faster one here.
            if settings.computeBackend == nil { compute.backend = Compute.default.backend }
        }
        if settings.computeBackend == nil, let fallback = Compute.standardFallback {
            // oneDNN was only the default (or implied by bf16): OpenBLAS stands in.
            logger.warning("\(fallback)")
            compute = .openBLAS
        }
        do { try compute.validate() } catch { throw DaemonError.usage(error.description) }
        let encoders = Compute.choose(compute, backendNamed: settings.computeBackend != nil)
        logger.info("compute \(compute): \(ComputeThreads.summary)")
        if settings.computeBackend == nil && Compute.environment == nil && compute.precision == .f32 && Compute.standardFallback == nil {
            logger.info("compute.backend not set: \(compute.backend.rawValue), because \(Compute.standardReason)")
            if let encoders {
                logger.info("compute.backend not set: the face CNN encoders (EfficientNet, ResNet-50, MA-Net) on \(encoders.compute.backend.rawValue), because \(encoders.reason)")
            }
        } else if compute.backend == .oneDNN && compute.precision == .f32 && Compute.standard.backend == .openBLAS {
            // An explicit oneDNN (the merd.toml of earlier releases set it) where it is the slower one.
            logger.warning("compute onednn was asked for, but \(Compute.standardReason): leave compute.backend and MERD_COMPUTE unset, or set them to openblas, to run faster")
        }
        if let hint = BLASKernelHint.current { logger.warning("\(hint)") }
        if compute.precision == .bf16 {
            // The flags say BF16 runs natively, not that it is faster (Intel without AMX: 0.6×).
            do {
                let speedup = try BF16SpeedProbe.speedup()
                if let warning = BF16SpeedProbe.warning(speedup: speedup) {
                    logger.warning("\(warning)")
                } else {
                    logger.info("compute.precision bf16: products at \((speedup * 100).rounded() / 100)× f32's speed on this CPU")
                }
            } catch {
                logger.warning("compute.precision bf16: its speed against f32 could not be measured (\(error))")
            }
        }
    }

    /// The models of the models directory the configuration names (EngineModels' rules).
    public static func loadModels(_ configuration: DaemonConfiguration, faces: Bool, logger: Logger) throws -> EngineModels {
        try EngineModels.load(root: ModelsDirectory.resolve(configuration.models), layers: configuration.layers, faces: faces,
                              speechDetector: configuration.speechDetector, logger: logger)
    }

    public func run() async throws {
        let settings = configuration
        ComputeThreads.configure(settings.threads)
        try chooseCompute(settings)
        // The engine's band levels, a microphone's resampling and a camera's frames all go
        // through FFmpeg, opened on first use: a library that cannot be opened is said now,
        // with what to install, not later as a source that never starts.
        do { try FFmpegLibraries.open(FFmpegLibraries.Library.allCases) } catch { throw DaemonError.unavailable(error.description) }
        let (audioSpec, videoSpec) = try sourceSpecs()
        // Opened before the models load: a history another daemon holds is a usage error at
        // once, not after a minute of loading.
        let history = try openHistory()
        guard let loaded = try await loadUnlessShutdown(faces: videoSpec != nil) else {
            logger.info("stopped while starting (before the models were loaded)")
            return
        }

        let engineSettings = settings.engine
        let stages = loaded.stages(configuration: engineSettings)
        if let fusion = loaded.fusion, !stages.fusionUsable {
            logger.warning("the fusion model reads \(fusion.inputs.map(\.name)); this run computes \(stages.availableInputs.sorted()): emotion and valence will be null")
        }

        let audio = audioSpec.map { $0.audioSource() }
        let video = loaded.vision == nil ? nil : videoSpec.map {
            $0.videoSource(preferences: .init(width: settings.videoWidth, height: settings.videoHeight, framesPerSecond: settings.videoFramesPerSecond))
        }
        var sources: [String: String] = [:]
        if let audioSpec { sources["audio"] = audioSpec.description }
        if let videoSpec, video != nil { sources["video"] = videoSpec.description }

        let server: EventServer
        do {
            var serverConfiguration = EventServer.Configuration(path: settings.socketPath, mode: settings.socketMode, queueCapacity: settings.queueSize,
                                                                sendBufferBytes: settings.sendBufferBytes)
            let (logger, metrics) = (logger, metrics)
            serverConfiguration.report = { logger.warning("\($0)") }
            serverConfiguration.archive = history
            serverConfiguration.metrics = { counts in metrics.text(subscribers: counts.subscribers, subscriberDropped: counts.dropped) }
            server = try EventServer(configuration: serverConfiguration,
                                     hello: Event.hello(loaded.hello(sources: sources, stages: stages, run: runID)).jsonLine(), environment: environment)
        } catch {
            throw DaemonError.usage(error.description)
        }
        let recorder = EventRecorder(history: history, run: runID, server: server, metrics: metrics, logger: logger)
        let lastSeq: Int
        do { lastSeq = try history?.lastSeq() ?? 0 } catch { throw DaemonError.usage(error.description) }
        if let history { logger.info("history \(history.path): seq continues after \(lastSeq); run \(runID)") }
        let engine = Engine(stages: stages, configuration: engineSettings, logger: logger, continuingAfter: lastSeq) { event in
            recorder.record(event)
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: server),
            .init(service: EngineService(engine: engine, announcesStop: true)),
        ]
        // A recording that ends, ends its supervisor; the daemon serves on until stopped.
        if let audio, let audioSpec {
            services.append(.init(service: SourceSupervisor(source: .audio(audio), engine: engine, reopen: audioSpec.isDevice, logger: logger),
                                  successTerminationBehavior: .ignore))
        }
        if let video, let videoSpec {
            services.append(.init(service: SourceSupervisor(source: .video(video), engine: engine, reopen: videoSpec.isDevice, logger: logger),
                                  successTerminationBehavior: .ignore))
        }
        if let textfile = settings.metricsTextfile {
            let metrics = metrics
            services.append(.init(service: MetricsTextfileService(
                path: textfile, interval: .milliseconds(Int(settings.metricsTextfileSeconds * 1000)),
                text: { metrics.text(subscribers: server.subscriberCount, subscriberDropped: server.droppedCount) }, logger: logger),
                successTerminationBehavior: .ignore))
        }
        services.append(.init(service: WatchdogService(notifier: notifier), successTerminationBehavior: .ignore))
        let reload = FusionReload(directory: ModelsDirectory.resolve(settings.models) + "/fusion", models: loaded, engine: engine,
                                  server: server, sources: sources, run: runID)
        services.append(.init(service: SignalService(logger: logger, reload: reload), successTerminationBehavior: .ignore))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        // SIGTERM must end merd within 2 s (the unit's TimeoutStopSec is 5): a service still
        // busy after 1.5 s is cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(1500)
        groupConfiguration.maximumCancellationDuration = .milliseconds(300)
        let group = ServiceGroup(configuration: groupConfiguration)

        let described = sources.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        logger.info("serving events on \(settings.socketPath); \(described.isEmpty ? "no sources" : described)")
        if audio == nil && video == nil {
            logger.warning("no source to read: give --audio, --video or --input (or `merd analyze FILE` for a recording)")
        }
        // A recording (`input`) is a file spec, which preflight does not check.
        Self.preflight(audio: audioSpec, video: video == nil ? nil : videoSpec, logger: logger)
        started?(server, engine)
        notifier.notify("READY=1\nSTATUS=listening on \(settings.socketPath); \(described.isEmpty ? "no sources" : described)")
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            notifier.notify("STOPPING=1")
            logger.info("stopping")
        }
    }

    /// This run's id (`hello.run`, and each stored event's `run`).
    private let runID = UUID().uuidString.lowercased()

    /// The history the configuration names, opened for writing; nil when it is off.
    private func openHistory() throws(DaemonError) -> EventHistory? {
        guard let path = HistoryLocation.resolve(configuration.historyPath, environment: environment) else { return nil }
        do { return try EventHistory(path: path, retention: configuration.historyRetention) } catch { throw .usage(error.description) }
    }

    /// The two sources, `input` (a recording as both) over the others; a missing recording
    /// is a usage error before anything is loaded.
    private func sourceSpecs() throws(DaemonError) -> (audio: SourceSpec?, video: SourceSpec?) {
        guard let input = configuration.input else { return (configuration.audio, configuration.video) }
        guard FileManager.default.fileExists(atPath: input) else { throw .usage("\(input): no such file") }
        return (.file(path: input), .file(path: input))
    }

    /// The models, loaded off the cooperative pool; nil when shutdown came first (the load is
    /// abandoned: the process is about to end).
    private func loadUnlessShutdown(faces: Bool) async throws -> EngineModels? {
        let answer = OneAnswer<Result<EngineModels, any Error>?>()
        let (configuration, logger, load) = (configuration, logger, loadModels)
        let result = await withGracefulShutdownHandler {
            await withCheckedContinuation { continuation in
                answer.wait(continuation)
                DispatchQueue.global(qos: .userInitiated).async {
                    // Reordering weights into oneDNN's layouts runs OpenMP regions.
                    ComputeThreads.adopt()
                    answer.give(Result { try load(configuration, faces, logger) })
                }
            }
        } onGracefulShutdown: {
            answer.give(nil)
        }
        return try result?.get()
    }

    /// Says at start, in plain words, when the devices asked for are not there: merd then waits
    /// for them (a camera plugged in later is picked up), and a recording can be analysed instead.
    static func preflight(audio: SourceSpec?, video: SourceSpec?, logger: Logger) {
        var missing: [String] = []
        if case .alsa = audio {
            let cards = (try? String(contentsOfFile: "/proc/asound/cards", encoding: .utf8)) ?? ""
            if cards.isEmpty || cards.contains("no soundcards") {
                missing.append("microphone")
                logger.warning("no microphone: ALSA has no sound card for \(audio!); merd keeps trying (`merd devices` lists what there is)")
            }
        }
        if case .camera(let path) = video, !FileManager.default.fileExists(atPath: path) {
            missing.append("camera")
            logger.warning("no camera at \(path); merd keeps trying (`merd devices` lists cameras)")
        }
        if !missing.isEmpty {
            logger.notice("without a \(missing.joined(separator: " or ")), `merd analyze FILE` reads a recording instead")
        }
    }
}

/// Why the daemon cannot start: as configured (`usage`, exit status 2), or on this machine
/// (`unavailable`, exit status 1).
public enum DaemonError: Error, Equatable, CustomStringConvertible {
    case usage(String)
    /// Something the machine lacks (a library that cannot be opened): a runtime error.
    case unavailable(String)

    public var description: String {
        switch self {
        case .usage(let message), .unavailable(let message): return message
        }
    }
}

/// A continuation answered once, by whichever answer comes first (and an answer that comes
/// before anyone waits is kept for the waiter).
final class OneAnswer<Value: Sendable>: Sendable {
    private let state = Locked<(continuation: CheckedContinuation<Value, Never>?, answer: Value?, answered: Bool)>((nil, nil, false))

    func wait(_ continuation: CheckedContinuation<Value, Never>) {
        let ready = state.withLock { state -> Value? in
            if state.answered, let answer = state.answer {
                state.answer = nil
                return answer
            }
            state.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }

    func give(_ value: Value) {
        let waiting = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard !state.answered else { return nil }
            state.answered = true
            guard let continuation = state.continuation else {
                state.answer = value
                return nil
            }
            state.continuation = nil
            return continuation
        }
        waiting?.resume(returning: value)
    }
}
