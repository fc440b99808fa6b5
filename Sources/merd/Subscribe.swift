import MerdDaemon
import MerdEvents
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `merd subscribe`: a client of the events socket.
struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the daemon's events: readable lines, or raw JSON with --json.")

    @Option(help: "The events socket.")
    var socket: String = "/run/merd/events.sock"
    @Option(help: "Event types, comma-separated (utterance,face,status).")
    var types: String?
    @Flag(help: "Print the JSON lines as they come.")
    var json = false

    func run() async throws {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socket.utf8).prefix(107)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw CommandFailure.runtime("\(socket): cannot connect (\(String(cString: strerror(errno)))); is `merd run` running, and may this user open the socket?")
        }
        if let types {
            let list = types.split(separator: ",").map { "\"\($0.trimmingCharacters(in: .whitespaces))\"" }.joined(separator: ",")
            let line = Array("{\"subscribe\":[\(list)]}\n".utf8)
            _ = line.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { return }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                writeLine(json ? line : Self.readable(line))
            }
        }
    }

    /// One line a person reads: `12.48–15.91 s  happy 0.81  valence +2.70  (184 ms)`.
    static func readable(_ line: String) -> String {
        guard let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let type = event["type"] as? String else {
            return line
        }
        switch type {
        case "utterance":
            let start = event["start"] as? Double ?? 0, end = event["end"] as? Double ?? 0
            var text = String(format: "%.2f–%.2f s", start, end)
            if let emotion = event["emotion"] as? [String: Any], let label = emotion["label"] as? String,
               let p = (emotion["probs"] as? [String: Double])?[label] {
                text += String(format: "  %@ %.2f", label, p)
            } else {
                text += "  emotion unknown"
            }
            if let valence = event["valence"] as? Double { text += String(format: "  valence %+.2f", valence) }
            return text + "  (\(event["latency_ms"] as? Int ?? 0) ms)"
        case "status":
            return "status: \(event["source"] as? String ?? "?") \(event["state"] as? String ?? "?") — \(event["detail"] as? String ?? "")"
        case "hello":
            return "connected to merd \(event["version"] as? String ?? "?") (schema \(event["schema"] as? Int ?? 0))"
        case "dropped":
            return "(\(event["count"] as? Int ?? 0) events dropped: this client read too slowly)"
        default:
            return line
        }
    }
}
