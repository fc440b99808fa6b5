import ArgumentParser
import CaptureALSA
import CaptureFile
import EventServer
import Foundation
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
            Audio comes from --audio alsa:NAME (default alsa:default) or a file; --input FILE replays a \
            recording in real time. Under systemd (Type=notify) it reports READY once models are loaded \
            and the socket is open, and pings the watchdog. SIGTERM stops it within 2 s; an utterance \
            still being spoken is dropped (and logged).
            """)

    @Option(help: "alsa:NAME, or a media file replayed in real time.")
    var audio: String = "alsa:default"
    @Option(help: "A recorded file replayed in real time as the sources (overrides --audio).")
    var input: String?
    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"
    @Option(help: "Models directory (default: $MERD_MODELS, /var/lib/merd/models, ~/.local/share/merd/models).")
    var models: String?
    @Option(help: "HuBERT layers pooled per utterance.")
    var layers: String = "18,19,20"
    @Option(name: .customLong("queue-size"), help: "Events queued per subscriber before the oldest are dropped.")
    var queueSize: Int = 1024

    func run() async throws {
        let layerList = layers.split(separator: ",").compactMap { Int($0) }
        guard !layerList.isEmpty, queueSize > 0 else { throw CommandFailure.usage("--layers takes whole numbers; --queue-size must be positive") }
        let notifier = SystemdNotifier()
        let (hubert, hubertName, fusion) = try loadModels(ModelsDirectory.resolve(models), layers: layerList)
        var configuration = EngineConfiguration()
        configuration.layers = layerList
        configuration.liveClock = true
        let engine = Engine(hubert: hubert, fusion: fusion, configuration: configuration)

        let sourceName = input ?? audio
        let hello = Hello(version: MerdVersion.string, labels: fusion?.labels ?? FusionArchitecture.merLabels,
                          sources: ["audio": sourceName], models: ["audio": hubertName, "fusion": engine.fusionUsable ? "jdev-ensemble" : nil])
        let server: EventServer
        do {
            server = try EventServer(configuration: .init(path: socket, queueCapacity: queueSize), hello: Event.hello(hello).jsonLine())
        } catch {
            throw CommandFailure.usage(error.description)
        }
        server.start()
        writeError("merd: serving events on \(socket); audio from \(sourceName)")
        notifier.notify("READY=1\nSTATUS=listening on \(socket), audio from \(sourceName)")

        let publish: @Sendable (Event) -> Void = { event in server.publish(type: event.type, line: event.jsonLine()) }
        let source: any AudioSource
        if let input {
            source = RecordedFile(path: input, pacing: .realTime).audio
        } else if audio.hasPrefix("alsa:") {
            source = ALSACapture(device: String(audio.dropFirst(5)))
        } else {
            source = RecordedFile(path: audio, pacing: .realTime).audio
        }
        let live = input == nil && audio.hasPrefix("alsa:")

        let work = Task {
            var backoff = Backoff()
            while !Task.isCancelled {
                do {
                    try await engine.run(audio: source, emit: publish)
                    backoff.reset()
                    if !live { break }  // a recording ends; a microphone does not
                } catch is CancellationError {
                    break
                } catch let error as CaptureError {
                    writeError("merd: \(error.description)")
                    publish(engine.status("audio", .lost, error.description))
                    guard live else { break }
                    let delay = backoff.nextDelay()
                    publish(engine.status("audio", .reconnecting, "\(sourceName) in \(delay.seconds) s"))
                    try? await Task.sleep(for: delay)
                } catch {
                    writeError("merd: \(error)")
                    break
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
        writeError("merd: stopping; an utterance in progress, if any, is dropped")
        work.cancel()
        watchdog.cancel()
        publish(engine.status("audio", .stopped, "daemon stopping"))
        // Give subscribers a moment to receive the last status, then close everything.
        try? await Task.sleep(for: .milliseconds(100))
        server.stop()
    }

    private func loadModels(_ root: String, layers: [Int]) throws -> (HuBERT?, String?, FusionEnsemble?) {
        let manager = FileManager.default
        var hubert: HuBERT?
        var name: String?
        if let directory = ["hubert-large", "chinese-hubert-large"].map({ root + "/" + $0 }).first(where: { manager.fileExists(atPath: $0 + "/config.json") }) {
            do { hubert = try HuBERT(directory: directory, highestLayer: layers.max()) } catch { throw CommandFailure.usage(error.description) }
            name = URL(fileURLWithPath: directory).lastPathComponent
        } else {
            writeError("merd: no HuBERT model in \(root) (`merd models fetch hubert-large`); utterance events will carry no emotion")
        }
        var fusion: FusionEnsemble?
        if manager.fileExists(atPath: root + "/fusion/model.json") {
            do { fusion = try FusionModelFile.load(root + "/fusion") } catch { throw CommandFailure.usage(error.description) }
        }
        return (hubert, name, fusion)
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
