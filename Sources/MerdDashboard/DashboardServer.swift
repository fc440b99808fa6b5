import EventHistory
import EventsClient
import Foundation
import Hummingbird
import Locking
import Logging
import MerdEvents

/// `merd dashboard`: a web page with the daemon's events, live and from the history, served
/// by Hummingbird in a process of its own (the daemon keeps no network).
///
/// - `/`, `/dashboard.css`, `/dashboard.js`: the page (`DashboardPage`).
/// - `/events`: Server-Sent Events, one per daemon event (`id:` its seq). Each browser tab has
///   its own subscription on the events socket; a browser that reconnects sends
///   `Last-Event-ID`, which becomes `since`, so the timeline has no gap.
/// - `/history?from=…&until=…[&types=…]`: stored events as a JSON array (RFC 3339 times).
/// - `/metrics`: the daemon's metrics, Prometheus text.
public struct DashboardServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var socketPath: String
        /// The daemon's history, for time ranges; nil: ranges are not offered.
        public var historyPath: String?

        public init(host: String, port: Int, socketPath: String, historyPath: String?) {
            self.host = host
            self.port = port
            self.socketPath = socketPath
            self.historyPath = historyPath
        }
    }

    public let configuration: Configuration
    public let logger: Logger
    /// Events a history request returns at most.
    static let historyLimit = 20_000

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The Hummingbird application, a `Service` to run in a group.
    public func application() -> some ApplicationProtocol {
        let router = Router()
        // The page loads nothing from elsewhere, and runs no inline script.
        let security: HTTPFields = [
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
            .init("X-Content-Type-Options")!: "nosniff",
        ]
        @Sendable func page(_ text: String, _ type: String) -> Response {
            var headers = security
            headers[.contentType] = type
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/") { _, _ in page(DashboardPage.html, "text/html; charset=utf-8") }
        router.get("/dashboard.css") { _, _ in page(DashboardPage.css, "text/css; charset=utf-8") }
        router.get("/dashboard.js") { _, _ in page(DashboardPage.script, "text/javascript; charset=utf-8") }
        let socketPath = configuration.socketPath
        router.get("/events") { request, _ -> Response in
            let since = request.headers[.init("Last-Event-ID")!].flatMap { Int($0) }
            let lines = Self.eventLines(socket: socketPath, since: since)
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: .init { writer in
                // A browser whose connection drops reconnects after a second.
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                for await line in lines {
                    try await writer.write(ByteBuffer(string: Self.serverSentEvent(line)))
                }
                try await writer.finish(nil)
            })
        }
        let historyPath = configuration.historyPath
        router.get("/history") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            return Self.history(path: historyPath, from: parameters["from"].map(String.init), until: parameters["until"].map(String.init),
                                types: parameters["types"].map(String.init))
        }
        router.get("/metrics") { _, _ -> Response in
            let result = await withCheckedContinuation { continuation in
                // The socket is read blocking, off Swift's cooperative threads.
                DispatchQueue.global().async { continuation.resume(returning: Result { try EventsConnection.metrics(socket: socketPath) }) }
            }
            switch result {
            case .success(let text):
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
            case .failure(let error):
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
            }
        }
        return Application(router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "merd"),
                           logger: logger)
    }

    /// One event as a Server-Sent Event; an event with a seq carries it as the SSE id.
    static func serverSentEvent(_ line: String) -> String {
        guard !line.isEmpty else { return ": keep-alive\n\n" }
        let seq = (try? EventCoding.decode(SeqField.self, from: Array(line.utf8)))?.seq
        return (seq.map { "id: \($0)\n" } ?? "") + "data: \(line)\n\n"
    }

    private struct SeqField: Decodable {
        let seq: Int?
    }

    /// The daemon's lines for one browser tab, read on a thread of their own until the tab
    /// goes away (the stream's termination ends it). While the daemon cannot be reached, the
    /// tab gets one `{"type":"daemon","state":"unreachable",…}` line and the thread tries again
    /// every 100 ms, resuming after the last seq it passed on (`since`), so the page sees the
    /// daemon's first events as they come and no gap after a restart. An empty line every
    /// 15 s of silence keeps proxies from closing the response, and finds a tab that left.
    static func eventLines(socket: String, since: Int?) -> AsyncStream<String> {
        AsyncStream { continuation in
            let stop = Locked(false)
            continuation.onTermination = { _ in stop.withLock { $0 = true } }
            let thread = Thread {
                var last = since
                var reachable = true
                while !stop.withLock({ $0 }) {
                    let connection: EventsConnection
                    do { connection = try EventsConnection(path: socket) } catch {
                        if reachable { continuation.yield(EventCoding.line(["type": "daemon", "state": "unreachable", "message": "\(error)"])) }
                        reachable = false
                        usleep(100_000)
                        continue
                    }
                    reachable = true
                    // Subscribing at once also brings the latest status without waiting.
                    connection.send(SubscribeRequest(types: EventType.allCases, since: last).jsonLine())
                    last = pass(connection, to: continuation, after: last, stop: stop)
                    connection.close()
                }
                continuation.finish()
            }
            thread.name = "merd-dashboard-events"
            thread.start()
        }
    }

    /// Hands on the connection's lines until it closes or the tab goes; the last seq passed on.
    private static func pass(_ connection: EventsConnection, to continuation: AsyncStream<String>.Continuation, after last: Int?,
                             stop: Locked<Bool>) -> Int? {
        var last = last
        var quiet = 0
        while !stop.withLock({ $0 }) {
            switch connection.next(timeoutMilliseconds: 250) {
            case .line(let line):
                quiet = 0
                if let seq = (try? EventCoding.decode(SeqField.self, from: Array(line.utf8)))?.seq { last = seq }
                continuation.yield(line)
            case .timeout:
                quiet += 1
                if quiet == 60 {
                    quiet = 0
                    continuation.yield("")
                }
            case .closed(let reason):
                // "since" without a history is refused: the next connection goes live only.
                continuation.yield(EventCoding.line(["type": "daemon", "state": "unreachable", "message": reason]))
                return last
            }
        }
        return last
    }

    /// `/history`: the stored events between two RFC 3339 times, as a JSON array.
    static func history(path: String?, from: String?, until: String?, types: String?) -> Response {
        func refuse(_ status: HTTPResponse.Status, _ message: String) -> Response {
            Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
        }
        guard let path else { return refuse(.notFound, "this dashboard has no history (merd dashboard --history FILE)") }
        guard let fromText = from, let start = WallClock.date(rfc3339: fromText), let untilText = until, let end = WallClock.date(rfc3339: untilText) else {
            return refuse(.badRequest, "give from and until as RFC 3339 times (2026-11-29T16:20:00Z)")
        }
        guard end > start else { return refuse(.badRequest, "until must come after from") }
        var query = HistoryQuery(from: start, until: end)
        if let types {
            let names = types.split(separator: ",").map(String.init)
            guard names.allSatisfy({ EventType(rawValue: $0) != nil }) else { return refuse(.badRequest, "types are utterance, face, status") }
            query.types = Set(names)
        }
        do {
            let store = try EventHistory(readingAt: path)
            let events = try store.events(query, limit: historyLimit)
            let body = "[" + events.map(\.line).joined(separator: ",") + "]"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch {
            return refuse(.serviceUnavailable, error.description)
        }
    }
}
