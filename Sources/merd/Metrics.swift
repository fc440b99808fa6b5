import ArgumentParser
import EventsClient

/// `merd metrics`: the daemon's metrics, asked for on the events socket.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the daemon's metrics in Prometheus' text format (asked on the events socket; the daemon opens no port).")

    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"

    func run() throws {
        do { print(try EventsConnection.metrics(socket: socket), terminator: "") } catch {
            throw CommandFailure.runtime(error.description)
        }
    }
}
