import MerdDaemon
import MerdEvents
import ArgumentParser
import EventsClient
import Foundation

/// `merd subscribe`: a client of the events socket.
struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the daemon's events: one readable line each, local time first, or the raw JSON with --json.")

    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"
    @Option(help: "Event types, comma-separated (utterance,face,status).")
    var types: String?
    @Flag(help: "Print the JSON lines exactly as they come.")
    var json = false
    @Option(help: "First the stored events after this seq (the daemon's history), then the live ones.")
    var since: Int?

    func run() async throws {
        // Parsed before connecting: a typo is a usage error, not a line the server refuses.
        let typeList = try types.map { text in
            try CommaSeparated.values(text, option: "--types", what: "event types, e.g. utterance,face,status") { EventType(rawValue: $0) }
        }
        if let since, since < 0 { throw CommandFailure.usage("--since takes a seq, 0 or more; got \(since)") }
        let connection: EventsConnection
        do { connection = try EventsConnection(path: socket) } catch { throw CommandFailure.runtime(error.description) }
        if typeList != nil || since != nil {
            connection.send(SubscribeRequest(types: typeList, since: since).jsonLine())
        }
        let output: SubscriberOutput = json ? .json : .readable(.current)
        while case .line(let line) = connection.next(timeoutMilliseconds: -1) {
            writeLine(output.line(for: line, received: Date()))
        }
    }
}
