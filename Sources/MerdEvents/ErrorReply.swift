/// The server's answer to a client line it did not accept (`{"type":"error","message":…}`);
/// the line is otherwise ignored.
public struct ErrorReply: Sendable, Equatable, Codable {
    /// What was wrong, for a person (`unknown subscribe type 'faces' (known: …)`).
    public var message: String

    public init(message: String) {
        self.message = message
    }

    /// The reply as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    private enum CodingKeys: String, CodingKey {
        case type, message
    }

    public init(from decoder: any Decoder) throws {
        message = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .message)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("error", forKey: .type)
        try container.encode(message, forKey: .message)
    }
}
