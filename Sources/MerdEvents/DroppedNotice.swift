/// Told to one client before its next event: its queue overflowed and this many of its oldest
/// events were dropped (`{"type":"dropped","count":N}`).
public struct DroppedNotice: Sendable, Equatable, Codable {
    /// Events dropped since the client was last told.
    public var count: Int

    public init(count: Int) {
        self.count = count
    }

    /// The notice as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    private enum CodingKeys: String, CodingKey {
        case type, count
    }

    public init(from decoder: any Decoder) throws {
        count = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .count)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("dropped", forKey: .type)
        try container.encode(count, forKey: .count)
    }
}
