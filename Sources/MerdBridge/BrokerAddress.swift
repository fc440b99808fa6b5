/// `mqtt://HOST:PORT` or `mqtts://HOST:PORT` (TLS): where the bridge publishes.
public struct BrokerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// Parses `mqtt://HOST[:PORT]` (port 1883) or `mqtts://HOST[:PORT]` (8883); an IPv6 host
    /// in brackets (`mqtt://[::1]:1883`).
    public init(_ text: String) throws(BridgeOptionError) {
        let schemes = ["mqtt://": false, "mqtts://": true]
        guard let (prefix, tls) = schemes.first(where: { text.hasPrefix($0.key) }) else {
            throw BridgeOptionError("--broker \"\(text)\" is not valid; give mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS")
        }
        var rest = Substring(text.dropFirst(prefix.count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw BridgeOptionError("--broker \"\(text)\": an IPv6 address needs its closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw BridgeOptionError("--broker \"\(text)\": expected :PORT after the address")
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw BridgeOptionError("--broker \"\(text)\": an IPv6 address goes in brackets, mqtt://[::1]:1883") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else {
            throw BridgeOptionError("--broker \"\(text)\" names no host (user names and passwords go in --username and --password-file)")
        }
        let port = portText.map { Int($0) } ?? (tls ? 8883 : 1883)
        guard let port, (1...65535).contains(port) else {
            throw BridgeOptionError("--broker \"\(text)\": the port must be a number in 1…65535")
        }
        self.init(host: String(host), port: port, tls: tls)
    }

    public var description: String { "\(tls ? "mqtts" : "mqtt")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// A bridge option that cannot be used, saying what to give instead.
public struct BridgeOptionError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
