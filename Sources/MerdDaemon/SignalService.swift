import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, SIGUSR1 and SIGUSR2 would end the process by default (and leave the socket file);
/// merd takes them (docs/operations.md, "Signals"). SIGHUP reloads the fusion model
/// (`systemctl reload merd`); the others are logged and ignored. SIGTERM and SIGINT belong to
/// the service group (graceful shutdown).
public struct SignalService: Service {
    public let logger: Logger
    /// What SIGHUP does.
    let reload: FusionReload

    init(logger: Logger, reload: FusionReload) {
        self.logger = logger
        self.reload = reload
    }

    public func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2)
        await cancelWhenGracefulShutdown {
            for await signal in signals {
                guard signal == .sighup else {
                    logger.notice("\(signal): ignored")
                    continue
                }
                // Reading and checking the model's files blocks: not on the cooperative pool.
                let outcome = await reload.runOffPool()
                switch outcome {
                case .replaced: logger.notice("SIGHUP: \(outcome); merd.toml and the other models apply at the next start")
                case .unchanged, .absent: logger.notice("SIGHUP: \(outcome)")
                case .refused: logger.error("SIGHUP: \(outcome)")
                }
            }
        }
    }
}
