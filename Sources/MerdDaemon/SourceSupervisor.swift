import CaptureFile
import Logging
import MediaTypes
import ServiceLifecycle
import StreamEngine

/// Runs one source through the engine as a service: a device that fails is reported
/// (`status` lost, reconnecting) and reopened with backoff until shutdown; a recording that
/// ends, ends the service. Graceful shutdown cancels the source's loop at once (the utterance
/// being spoken is dropped; the engine logs it).
public struct SourceSupervisor: Service {
    public enum Source: Sendable {
        case audio(any AudioSource)
        case video(any VideoSource)
    }

    public let source: Source
    public let engine: Engine
    /// Reopen after a failure (a device), or stop (a recording).
    public let reopen: Bool
    public let logger: Logger
    /// The delays between reopening attempts.
    public let backoff: Backoff

    public init(source: Source, engine: Engine, reopen: Bool, logger: Logger, backoff: Backoff = Backoff()) {
        self.source = source
        self.engine = engine
        self.reopen = reopen
        self.logger = logger
        self.backoff = backoff
    }

    public func run() async {
        await cancelWhenGracefulShutdown { await self.superviseUntilCancelled() }
    }

    private var kind: String {
        if case .audio = source { return "audio" }
        return "video"
    }

    private var name: String {
        switch source {
        case .audio(let audio): return audio.name
        case .video(let video): return video.name
        }
    }

    /// What a recording's reading met that a whole file would not have, once it ended.
    private var damageReport: String? {
        switch source {
        case .audio(let audio): return (audio as? FileAudioSource)?.damageReport
        case .video(let video): return (video as? FileVideoSource)?.damageReport
        }
    }

    private func superviseUntilCancelled() async {
        var backoff = backoff
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let opened = clock.now
            do {
                switch source {
                case .audio(let audio): try await engine.runAudio(audio)
                case .video(let video): try await engine.runVideo(video)
                }
                backoff.reset()
                if !reopen {
                    // A recording ends; one that ended early says so, as `merd analyze` does.
                    if let damage = damageReport { logger.warning("\(kind) \(name): \(damage)") }
                    return
                }
                if Task.isCancelled { return }  // a device is opened again
            } catch is CancellationError {
                return
            } catch let error as CaptureError {
                if Task.isCancelled { return }
                logger.error("\(error.description)")
                engine.emit(engine.status(kind, .lost, error.description))
                guard reopen else { return }
                let delay = backoff.failed(after: opened.duration(to: clock.now))
                engine.emit(engine.status(kind, .reconnecting, "\(name) in \(delay.seconds) s"))
                do { try await Task.sleep(for: delay) } catch { return }
            } catch {
                logger.error("\(kind) \(name): \(error)")
                engine.emit(engine.status(kind, .stopped, "\(error)"))
                return
            }
        }
    }
}
