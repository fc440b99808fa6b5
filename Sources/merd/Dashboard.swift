import ArgumentParser
import Foundation
import Logging
import MerdDaemon
import MerdDashboard
import ServiceLifecycle

/// `merd dashboard`: the live page, in a process of its own.
struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a live web page of the daemon's events: timeline, valence, faces, sources, metrics.",
        discussion: """
            Its own process (the daemon keeps no network): it reads the events socket and, for time \
            ranges, the history. Listen on loopback unless the page may be public: it has no login.
            """)

    @Option(help: "HOST:PORT to serve on.")
    var listen = "127.0.0.1:8080"
    @Option(help: "The events socket.")
    var socket = "/run/merd/events.sock"
    @Option(help: "The daemon's history, for time ranges (default: as `merd history` finds it), or none.")
    var history: String?

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port),
              colon != listen.startIndex else {
            throw CommandFailure.usage("--listen \"\(listen)\" is not valid; give HOST:PORT, e.g. 127.0.0.1:8080")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let historyPath = history.map { $0 == "none" ? nil : $0 } ?? HistoryLocation.forReading()
        var logger = Logger(label: "merd.dashboard")
        logger.logLevel = .notice
        let server = DashboardServer(configuration: .init(host: host, port: port, socketPath: socket, historyPath: historyPath), logger: logger)
        logger.notice("dashboard: http://\(listen)/ (events \(socket), history \(historyPath ?? "none"))")
        let group = ServiceGroup(services: [server.application()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do { try await group.run() } catch {
            throw CommandFailure.runtime("dashboard: cannot serve on \(listen) (\(error))")
        }
    }
}
