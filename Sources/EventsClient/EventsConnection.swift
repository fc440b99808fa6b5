import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A client of the events socket (merd's own: `merd subscribe`, `merd metrics`, the bridge,
/// the dashboard), read line by line with a timeout. Used by one thread at a time.
public final class EventsConnection {
    private let descriptor: Int32
    private var pending: [UInt8] = []

    public enum Next: Sendable {
        case line(String)
        case timeout
        case closed(String)
    }

    public struct ConnectError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Connects to the socket at `path`.
    public init(path: String) throws(ConnectError) {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ConnectError(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix(107)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw ConnectError(description: "\(path): cannot connect (\(reason)); is `merd run` running, and may this user open the socket?")
        }
    }

    /// Sends one line (a newline is added).
    public func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next whole line, or `timeout` after that long without one, or `closed`.
    public func next(timeoutMilliseconds: Int32) -> Next {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return .line(line)
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready == 0 { return .timeout }
            if ready < 0 { if errno == EINTR { continue } else { return .closed(String(cString: strerror(errno))) } }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = read(descriptor, &buffer, buffer.count)
            if count == 0 { return .closed("the daemon closed the connection") }
            if count < 0 { if errno == EINTR || errno == EAGAIN { continue } else { return .closed(String(cString: strerror(errno))) } }
            pending += buffer[0..<count]
        }
    }

    /// Closes the connection (once).
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }

    private var closed = false

    deinit { close() }
}
