import MerdDaemon
import MerdEvents
import ArgumentParser
import CaptureALSA
import CaptureFile
import CaptureV4L2
import EventServer
import Foundation
import Logging
import MediaTypes
import NeuralKit
import StreamEngine
import Synchronization
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
    @Option(name: .customLong("queue-size"), help: "Events queued per subscriber before the oldest are dropped.")
    var queueSize: Int?

    /// The file's settings with the flags over them.
    func settings() throws -> DaemonConfiguration {
        var settings: DaemonConfiguration
        do {
            settings = try DaemonConfiguration.load(path: config ?? DaemonConfiguration.defaultPath, required: config != nil)
        } catch let problem as DaemonConfiguration.Problem {
            throw CommandFailure.usage(problem.description)
        }
        if let audio { settings.audio = audio == "none" ? nil : audio }
        if let video { settings.video = video == "none" ? nil : video }
        if let input { settings.input = input }
        if let socket { settings.socketPath = socket }
        if let models = modelsOption.models { settings.models = models }
        if let layers { settings.layers = try CommaSeparated.layers(layers) }
        if let queueSize {
            guard queueSize > 0 else { throw CommandFailure.usage("--queue-size must be positive") }
            settings.queueSize = queueSize
        }
        return settings
    }

    func run() async throws {
        let settings = try settings()
        let logger = {
            var logger = Logger(label: "merd")
            logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
            return logger
        }()
        let notifier = SystemdNotifier()
        BLAS.threadCount = settings.threads

        // Sources first, so that a wrong name is a usage error before models are loaded.
        let file = settings.input.map { RecordedFile(path: $0, pacing: .realTime) }
        let audioName = settings.input ?? settings.audio
        let videoName = settings.input ?? settings.video
        if let input = settings.input, !FileManager.default.fileExists(atPath: input) {
            throw CommandFailure.usage("\(input): no such file")
        }
        let root = ModelsDirectory.resolve(settings.models)
        let loaded = try EngineModels.load(root: root, layers: settings.layers, faces: videoName != nil, logger: logger)
        var engineSettings = EngineConfiguration()
        engineSettings.layers = settings.layers
        engineSettings.liveClock = true
        engineSettings.faceFramesPerSecond = settings.faceFramesPerSecond
        engineSettings.faceEventSeconds = settings.faceEventSeconds
        engineSettings.videoWaitMilliseconds = settings.videoWaitMilliseconds
        engineSettings.windowing = HuBERTWindowing(windowSeconds: settings.speechWindowSeconds, overlapSeconds: settings.speechOverlapSeconds)
        let engine = Engine(hubert: loaded.hubert, fusion: loaded.fusion, vision: loaded.vision, configuration: engineSettings)
        if let fusion = loaded.fusion, !engine.fusionUsable {
            logger.warning("the fusion model reads \(fusion.inputs.map(\.name)); this run computes \(engine.availableInputs.sorted()): emotion and valence will be null")
        }

        var audioSource: (any AudioSource)? = file?.audio
        if audioSource == nil, let name = settings.audio {
            audioSource = name.hasPrefix("alsa:") ? ALSACapture(device: String(name.dropFirst(5))) : RecordedFile(path: name, pacing: .realTime).audio
        }
        var videoSource: (any VideoSource)? = file?.video
        if videoSource == nil, let name = settings.video {
            let preferences = V4L2Capture.Preferences(width: settings.videoWidth, height: settings.videoHeight, framesPerSecond: settings.videoFramesPerSecond)
            videoSource = name.hasPrefix("/dev/") ? V4L2Capture(path: name, preferences: preferences) : RecordedFile(path: name, pacing: .realTime).video
        }
        if loaded.vision == nil { videoSource = nil }
        let (audioInput, videoInput) = (audioSource, videoSource)
        var sources: [String: String] = [:]
        if let audioName { sources["audio"] = audioName }
        if let videoName, videoSource != nil { sources["video"] = videoName }

        let server: EventServer
        do {
            server = try EventServer(configuration: .init(path: settings.socketPath, mode: settings.socketMode, queueCapacity: settings.queueSize,
                                                          sendBufferBytes: settings.sendBufferBytes),
                                     hello: Event.hello(loaded.hello(sources: sources, engine: engine)).jsonLine())
        } catch {
            throw CommandFailure.usage(error.description)
        }
        server.start()
        let deliver: @Sendable (Event) -> Void = { event in server.publish(type: event.type, line: event.jsonLine()) }
        let publish = engine.sequenced(deliver)
        let described = sources.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        logger.info("serving events on \(settings.socketPath); \(described.isEmpty ? "no sources" : described)")
        if audioSource == nil && videoSource == nil {
            logger.warning("no source to read: give --audio, --video or --input (or `merd analyze FILE` for a recording)")
        }
        Self.preflight(audio: settings.input == nil ? settings.audio : nil, video: settings.input == nil && loaded.vision != nil ? settings.video : nil,
                       logger: logger)
        notifier.notify("READY=1\nSTATUS=listening on \(settings.socketPath); \(described.isEmpty ? "no sources" : described)")

        // A recording ends; a device is reopened with backoff until merd stops.
        let live = settings.input == nil
        let sessions = Task {
            await withTaskGroup(of: Void.self) { group in
                if let audioSource = audioInput {
                    let reopen = live && audioSource is ALSACapture
                    group.addTask {
                        await Self.keepRunning("audio", name: audioSource.name, reopen: reopen, engine: engine, publish: publish, logger: logger) {
                            try await engine.runAudio(audioSource, emit: deliver)
                        }
                    }
                }
                if let videoSource = videoInput {
                    let reopen = live && videoSource is V4L2Capture
                    group.addTask {
                        await Self.keepRunning("video", name: videoSource.name, reopen: reopen, engine: engine, publish: publish, logger: logger) {
                            try await engine.runVideo(videoSource, emit: deliver)
                        }
                    }
                }
            }
        }
        let watchdog = Task {
            guard let interval = notifier.watchdogInterval else { return }
            while !Task.isCancelled {
                notifier.notify("WATCHDOG=1")
                try? await Task.sleep(for: interval)
            }
        }
        await SignalWaiter.waitForTermination()
        notifier.notify("STOPPING=1")
        logger.info("stopping; an utterance in progress, if any, is dropped")
        sessions.cancel()
        watchdog.cancel()
        publish(engine.status("daemon", .stopped, "stopping"))
        // Give subscribers a moment to receive the last status, then close everything.
        try? await Task.sleep(for: .milliseconds(100))
        server.stop()
    }

    /// Says at start, in plain words, when the devices asked for are not there: merd then waits
    /// for them (a camera plugged in later is picked up), and a recording can be analysed instead.
    static func preflight(audio: String?, video: String?, logger: Logger) {
        var missing: [String] = []
        if let audio, audio.hasPrefix("alsa:") {
            let cards = (try? String(contentsOfFile: "/proc/asound/cards", encoding: .utf8)) ?? ""
            if cards.isEmpty || cards.contains("no soundcards") {
                missing.append("microphone")
                logger.warning("no microphone: ALSA has no sound card for \(audio); merd keeps trying (`merd devices` lists what there is)")
            }
        }
        if let video, video.hasPrefix("/dev/"), !FileManager.default.fileExists(atPath: video) {
            missing.append("camera")
            logger.warning("no camera at \(video); merd keeps trying (`merd devices` lists cameras)")
        }
        if !missing.isEmpty {
            logger.notice("without a \(missing.joined(separator: " or ")), `merd analyze FILE` reads a recording instead")
        }
    }

    /// Runs one source's loop; when it fails, says so and (for a device) reopens it with
    /// backoff until cancelled.
    static func keepRunning(_ kind: String, name: String, reopen: Bool, engine: Engine, publish: @escaping @Sendable (Event) -> Void,
                            logger: Logger, body: @escaping @Sendable () async throws -> Void) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                try await body()
                backoff.reset()
                if !reopen { return }  // a recording ends; a microphone or camera is opened again
            } catch is CancellationError {
                return
            } catch let error as CaptureError {
                logger.error("\(error.description)")
                publish(engine.status(kind, .lost, error.description))
                guard reopen else { return }
                let delay = backoff.nextDelay()
                publish(engine.status(kind, .reconnecting, "\(name) in \(delay.seconds) s"))
                try? await Task.sleep(for: delay)
            } catch {
                logger.error("\(kind) \(name): \(error)")
                publish(engine.status(kind, .stopped, "\(error)"))
                return
            }
        }
    }
}

/// Waits for SIGTERM or SIGINT (the signals are taken from their default action first, so
/// the process ends through its own shutdown, not abruptly).
enum SignalWaiter {
    static func waitForTermination() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = ResumeOnce(continuation)
            for number in [SIGTERM, SIGINT] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume() }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Kept alive for the process's life; written only here, once, before any signal can fire.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}

/// Resumes a continuation once, whichever signal comes first.
final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>
    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Mutex(continuation) }
    func resume() { continuation.withLock { $0?.resume(); $0 = nil } }
}
