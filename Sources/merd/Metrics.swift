import ArgumentParser
import Foundation
import MerdEvents
#if canImport(Glibc)
import Glibc
#endif

/// `merd metrics`: the daemon's metrics, asked for on the events socket.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the daemon's metrics in Prometheus' text format (asked on the events socket; the daemon opens no port).")

    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"

    func run() throws {
        let descriptor = try EventsSocket.connect(socket)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Told not to send events, the server answers the request between `hello` and them.
        EventsSocket.send(SubscribeRequest(typeNames: []).jsonLine(), to: descriptor)
        EventsSocket.send(ClientRequest.metrics.jsonLine(), to: descriptor)
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { throw CommandFailure.runtime("\(socket): the daemon closed the connection before answering") }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                switch try? ServerMessage(line: line) {
                case .metrics(let reply):
                    print(reply.text, terminator: "")
                    return
                case .error(let reply):
                    throw CommandFailure.runtime("the daemon says: \(reply.message)")
                default:
                    continue  // hello, the latest status
                }
            }
        }
    }
}
