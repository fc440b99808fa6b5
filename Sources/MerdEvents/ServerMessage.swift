/// Any line a subscriber receives, decoded: the client's side of the protocol.
///
/// A type added to the protocol later decodes as `unknown` and extra fields are ignored, so
/// a client keeps working against a newer daemon (EVENTS.md only adds).
public enum ServerMessage: Sendable, Equatable {
    case hello(Hello)
    case utterance(UtteranceEvent)
    case face(FaceEvent)
    case status(StatusEvent)
    case dropped(DroppedNotice)
    case error(ErrorReply)
    /// The answer to `{"metrics": true}`.
    case metrics(MetricsReply)
    /// A type this version does not know: its name and the line as received.
    case unknown(type: String, raw: String)

    /// Decodes one line (without its newline).
    /// - Throws: when the line is not a JSON object with a string `type`, or is a known type
    ///   with a field missing or of the wrong kind; the error names the field.
    public init(line: String) throws(MessageDecodingError) {
        let bytes = Array(line.utf8)
        let type = try EventCoding.decode(TypeField.self, from: bytes).type
        do {
            switch type {
            case "hello": self = .hello(try EventCoding.decode(Hello.self, from: bytes))
            case "utterance": self = .utterance(try EventCoding.decode(UtteranceEvent.self, from: bytes))
            case "face": self = .face(try EventCoding.decode(FaceEvent.self, from: bytes))
            case "status": self = .status(try EventCoding.decode(StatusEvent.self, from: bytes))
            case "dropped": self = .dropped(try EventCoding.decode(DroppedNotice.self, from: bytes))
            case "error": self = .error(try EventCoding.decode(ErrorReply.self, from: bytes))
            case "metrics": self = .metrics(try EventCoding.decode(MetricsReply.self, from: bytes))
            default: self = .unknown(type: type, raw: line)
            }
        } catch {
            throw MessageDecodingError(description: "\"\(type)\" line: \(error.description)")
        }
    }

    /// The message's `type`.
    public var type: String {
        switch self {
        case .hello: return "hello"
        case .utterance: return EventType.utterance.rawValue
        case .face: return EventType.face.rawValue
        case .status: return EventType.status.rawValue
        case .dropped: return "dropped"
        case .error: return "error"
        case .metrics: return "metrics"
        case .unknown(let type, _): return type
        }
    }

    /// The event, for the four types the daemon emits as events.
    public var event: Event? {
        switch self {
        case .hello(let e): return .hello(e)
        case .utterance(let e): return .utterance(e)
        case .face(let e): return .face(e)
        case .status(let e): return .status(e)
        case .dropped, .error, .metrics, .unknown: return nil
        }
    }

    private struct TypeField: Decodable {
        let type: String
    }
}
