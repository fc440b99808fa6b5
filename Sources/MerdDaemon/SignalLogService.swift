import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, SIGUSR1 and SIGUSR2 would end the process by default (and leave the socket file);
/// merd takes them and says in the log what it did (docs/operations.md, "Signals"). SIGTERM
/// and SIGINT belong to the service group (graceful shutdown).
public struct SignalLogService: Service {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2)
        await cancelWhenGracefulShutdown {
            for await signal in signals {
                if signal == .sighup {
                    logger.notice("SIGHUP: merd does not reload its configuration while running; restart it to apply changes (systemctl restart merd)")
                } else {
                    logger.notice("\(signal): ignored")
                }
            }
        }
    }
}
