/// The subscription a client may send once: `{"subscribe": ["utterance", "face", "status"]}`,
/// the types it wants (without it, all), and with history on `"since": SEQ`, to first receive
/// the stored events after that `seq` (EVENTS.md, additions).
public struct SubscribeRequest: Sendable, Equatable, Codable {
    /// The type names as sent, or nil for all. Names, not `EventType`s: the server answers a
    /// name it does not serve with an error that quotes it, so a line naming one must still parse.
    public var types: [String]?
    /// Replay the stored events after this `seq` before the live ones.
    public var since: Int?

    public init(types: [EventType]?, since: Int? = nil) {
        self.types = types?.map(\.rawValue)
        self.since = since
    }

    public init(typeNames: [String]?, since: Int? = nil) {
        types = typeNames
        self.since = since
    }

    /// A line a client sent. Only `subscribe` and `since` may be in it, at least one of
    /// them: a key this version does not know is refused, not ignored, so the client learns
    /// that it was not understood.
    public init(jsonLine line: some Collection<UInt8>) throws(MessageDecodingError) {
        self = try EventCoding.decode(Self.self, from: line)
    }

    /// The request as one line of JSON (no newline).
    public func jsonLine() -> String { EventCoding.line(self) }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case subscribe, since
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        let known = CodingKeys.allCases.map(\.rawValue)
        guard !keys.isEmpty, keys.allSatisfy(known.contains) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "expected \"subscribe\" and/or \"since\", got \(keys.sorted())"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        types = try container.decodeIfPresent([String].self, forKey: .subscribe)
        since = try container.decodeIfPresent(Int.self, forKey: .since)
        if let since, since < 0 {
            throw DecodingError.dataCorruptedError(forKey: .since, in: container, debugDescription: "a seq is 0 or more, got \(since)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(types, forKey: .subscribe)
        try container.encodeIfPresent(since, forKey: .since)
    }
}

/// Any line a client may send on the events socket.
public enum ClientRequest: Sendable, Equatable {
    /// `{"subscribe": [...], "since": SEQ}` (either key alone too).
    case subscribe(SubscribeRequest)
    /// `{"metrics": true}`: one `{"type":"metrics","text":…}` reply, Prometheus text format.
    case metrics

    public init(jsonLine line: some Collection<UInt8>) throws(MessageDecodingError) {
        if let metrics = try? EventCoding.decode(MetricsRequest.self, from: line), metrics.metrics {
            self = .metrics
            return
        }
        self = .subscribe(try SubscribeRequest(jsonLine: line))
    }

    /// The request as one line of JSON (no newline).
    public func jsonLine() -> String {
        switch self {
        case .subscribe(let request): return request.jsonLine()
        case .metrics: return EventCoding.line(MetricsRequest(metrics: true))
        }
    }

    /// `{"metrics": true}` and nothing else.
    private struct MetricsRequest: Codable {
        var metrics: Bool

        init(metrics: Bool) { self.metrics = metrics }

        init(from decoder: any Decoder) throws {
            let keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
            guard keys == ["metrics"] else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a metrics request")) }
            metrics = try decoder.container(keyedBy: AnyCodingKey.self).decode(Bool.self, forKey: AnyCodingKey("metrics"))
        }
    }
}
