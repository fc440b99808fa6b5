import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 for tests: serves fixed responses by path (the
/// query string ignored), one connection at a time, on its own thread; `stop()` ends it.
final class LocalHTTPServer: @unchecked Sendable {
    struct Response {
        var status = 200
        var body: Data
        /// Declared Content-Length, when a test wants it to lie.
        var declaredLength: Int?
        /// A Location header (for a redirect status).
        var location: String?
        /// Seconds to wait before answering, for a test of a host that stalls.
        var delay: TimeInterval = 0
    }

    private let listener: Int32
    let port: UInt16
    private let routes: [String: Response]
    private let lock = NSLock()
    private var requests: [String] = []
    private var thread: Thread?

    init(routes: [String: Response]) throws {
        self.routes = routes
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { close(listener); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        self.thread = thread
        thread.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Paths requested so far.
    var requestedPaths: [String] { lock.withLock { requests } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }  // closed by stop()
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let count = recv(connection, &buffer, buffer.count, 0)
            if count <= 0 { return }
            request += buffer[0..<count]
            if request.count > 65536 { return }
        }
        let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2 else { return }
        let path = String(line[1].split(separator: "?", maxSplits: 1)[0])
        lock.withLock { requests.append(path) }
        let response = routes[path] ?? Response(status: 404, body: Data("not found".utf8))
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        let head = "HTTP/1.1 \(response.status) X\r\nContent-Length: \(response.declaredLength ?? response.body.count)\r\n"
            + (response.location.map { "Location: \($0)\r\n" } ?? "") + "Connection: close\r\n\r\n"
        send(connection, Array(head.utf8) + [UInt8](response.body))
    }

    private func send(_ connection: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }
}
