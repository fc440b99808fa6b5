import Foundation

/// An event of protocol v1 (EVENTS.md, docs/events.md): what subscribers read, one JSON object
/// per line. Fields that cannot be computed are null, never invented.
public enum Event: Sendable, Equatable, Encodable {
    case hello(Hello)
    case utterance(UtteranceEvent)
    case face(FaceEvent)
    case status(StatusEvent)

    /// `utterance`, `face`, `status` (subscriptions filter by this); `hello` for the greeting.
    public var type: String { eventType?.rawValue ?? "hello" }

    /// The type a subscription names; nil for `hello`, which every subscriber gets.
    public var eventType: EventType? {
        switch self {
        case .hello: return nil
        case .utterance: return .utterance
        case .face: return .face
        case .status: return .status
        }
    }

    /// The event's sequence number (nil for hello).
    public var seq: Int? {
        switch self {
        case .hello: return nil
        case .utterance(let e): return e.seq
        case .face(let e): return e.seq
        case .status(let e): return e.seq
        }
    }

    /// The event with sequence number `seq` (hello has none).
    public func numbered(_ seq: Int) -> Event {
        switch self {
        case .hello: return self
        case .utterance(var e): e.seq = seq; return .utterance(e)
        case .face(var e): e.seq = seq; return .face(e)
        case .status(var e): e.seq = seq; return .status(e)
        }
    }

    /// The event as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .hello(let e): try e.encode(to: encoder)
        case .utterance(let e): try e.encode(to: encoder)
        case .face(let e): try e.encode(to: encoder)
        case .status(let e): try e.encode(to: encoder)
        }
    }

    /// Now (or `date`) as the events' `time`: RFC 3339 in UTC with milliseconds
    /// (`2026-11-25T16:20:01.123Z`).
    public static func wallClock(_ date: Date = Date()) -> String { WallClock.rfc3339(date) }
}
