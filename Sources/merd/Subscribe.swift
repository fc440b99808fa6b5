import MerdDaemon
import MerdEvents
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        let descriptor = try EventsSocket.connect(socket)
        if typeList != nil || since != nil {
            EventsSocket.send(SubscribeRequest(types: typeList, since: since).jsonLine(), to: descriptor)
        }
        let output: SubscriberOutput = json ? .json : .readable(.current)
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { return }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                writeLine(output.line(for: line, received: Date()))
            }
        }
    }
}

/// The client side of the events socket, for merd's own commands.
enum EventsSocket {
    /// A connected stream socket, or a runtime failure that says what to check.
    static func connect(_ path: String) throws -> Int32 {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix(107)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw CommandFailure.runtime("\(path): cannot connect (\(reason)); is `merd run` running, and may this user open the socket?")
        }
        return descriptor
    }

    /// Sends one line (a newline is added).
    static func send(_ line: String, to descriptor: Int32) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
