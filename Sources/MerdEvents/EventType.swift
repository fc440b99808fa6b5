/// The event types a client can subscribe to; raw values are the names on the wire.
public enum EventType: String, Sendable, Codable, CaseIterable {
    case utterance, face, status
}
