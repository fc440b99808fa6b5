/// The one line a client may send: `{"subscribe": ["utterance", "face", "status"]}`, the types
/// it wants (without it, all).
public struct SubscribeRequest: Sendable, Equatable, Codable {
    /// The type names as sent. Names, not `EventType`s: the server answers a name it does not
    /// serve with an error that quotes it, so a line naming one must still parse.
    public var types: [String]

    public init(types: [EventType]) {
        self.types = types.map(\.rawValue)
    }

    public init(typeNames: [String]) {
        types = typeNames
    }

    /// A line a client sent. Only `subscribe` may be in it: a key this version does not know
    /// is refused, not ignored, so the client learns that it was not understood.
    public init(jsonLine line: some Collection<UInt8>) throws(MessageDecodingError) {
        self = try EventCoding.decode(Self.self, from: line)
    }

    /// The request as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    private enum CodingKeys: String, CodingKey {
        case subscribe
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        guard keys == [CodingKeys.subscribe.stringValue] else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "expected only \"subscribe\", got \(keys.sorted())"))
        }
        types = try decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .subscribe)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(types, forKey: .subscribe)
    }
}
