import MerdEvents

extension EventsConnection {
    /// Why the daemon gave no metrics.
    public struct MetricsError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The daemon's metrics (Prometheus text), asked on a connection of their own.
    public static func metrics(socket path: String, timeoutMilliseconds: Int32 = 5000) throws(MetricsError) -> String {
        let connection: EventsConnection
        do { connection = try EventsConnection(path: path) } catch { throw MetricsError(description: error.description) }
        defer { connection.close() }
        // Told to send no events, the daemon answers right after `hello`.
        connection.send(SubscribeRequest(typeNames: []).jsonLine())
        connection.send(ClientRequest.metrics.jsonLine())
        while true {
            switch connection.next(timeoutMilliseconds: timeoutMilliseconds) {
            case .line(let line):
                switch try? ServerMessage(line: line) {
                case .metrics(let reply): return reply.text
                case .error(let reply): throw MetricsError(description: "the daemon says: \(reply.message)")
                default: continue  // hello
                }
            case .timeout:
                throw MetricsError(description: "\(path): no answer within \(timeoutMilliseconds) ms")
            case .closed(let reason):
                throw MetricsError(description: "\(path): \(reason) before answering")
            }
        }
    }
}
