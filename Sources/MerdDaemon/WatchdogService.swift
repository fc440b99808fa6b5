import ServiceLifecycle

/// Pings systemd's watchdog (WATCHDOG=1) at half the interval it asked for, until shutdown.
/// Nothing is sent when the unit has no watchdog.
public struct WatchdogService: Service {
    public let notifier: SystemdNotifier

    public init(notifier: SystemdNotifier) { self.notifier = notifier }

    public func run() async {
        guard let interval = notifier.watchdogInterval else {
            // Idle until shutdown rather than return at once: a service that returns while the
            // group shuts down (SIGTERM in merd's first milliseconds) is one that "finished
            // unexpectedly" to ServiceGroup, and merd would exit with an error instead of 0.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                notifier.notify("WATCHDOG=1")
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }
}
