/// The answer to `{"metrics": true}`: the daemon's metrics in Prometheus' text exposition
/// format, as one JSON string (`{"type":"metrics","text":"# TYPE merd_events_total counter\n…"}`).
public struct MetricsReply: Sendable, Equatable, Codable {
    public var text: String

    public init(text: String) {
        self.text = text
    }

    /// The reply as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    private enum CodingKeys: String, CodingKey {
        case type, text
    }

    public init(from decoder: any Decoder) throws {
        text = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("metrics", forKey: .type)
        try container.encode(text, forKey: .text)
    }
}
