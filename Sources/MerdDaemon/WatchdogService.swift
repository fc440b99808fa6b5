import ServiceLifecycle

/// Pings systemd's watchdog (WATCHDOG=1) at half the interval it asked for, until shutdown.
/// Nothing runs when the unit has no watchdog.
public struct WatchdogService: Service {
    public let notifier: SystemdNotifier

    public init(notifier: SystemdNotifier) { self.notifier = notifier }

    public func run() async {
        guard let interval = notifier.watchdogInterval else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                notifier.notify("WATCHDOG=1")
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }
}
