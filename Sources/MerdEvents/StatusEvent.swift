/// A source or model changed state (and, after `hello`, each source's latest).
public struct StatusEvent: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case running, lost, reconnecting, stopped

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let name = try container.decode(String.self)
            guard let state = State(rawValue: name) else {
                let known = Self.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(name)\" is not one of \(known)")
            }
            self = state
        }
    }
    /// The event's number in this daemon run (every type counts).
    public var seq: Int
    /// Wall clock at emission, RFC 3339 (`Event.wallClock()`).
    public var time: String
    /// `audio` or `video`.
    public var source: String
    public var state: State
    /// What the source opened (`/dev/video0 MJPEG 640x480@30`) or why it stopped.
    public var detail: String
    /// Frames the source dropped, and capture overruns, so far.
    public var droppedFrames: Int
    public var overruns: Int

    public init(seq: Int, time: String, source: String, state: State, detail: String, droppedFrames: Int = 0, overruns: Int = 0) {
        self.seq = seq
        self.time = time
        self.source = source
        self.state = state
        self.detail = detail
        self.droppedFrames = droppedFrames
        self.overruns = overruns
    }

    private enum CodingKeys: String, CodingKey {
        case type, seq, time, source, state, detail, droppedFrames = "dropped_frames", overruns
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        time = try container.decode(String.self, forKey: .time)
        source = try container.decode(String.self, forKey: .source)
        state = try container.decode(State.self, forKey: .state)
        detail = try container.decode(String.self, forKey: .detail)
        droppedFrames = try container.decode(Int.self, forKey: .droppedFrames)
        overruns = try container.decode(Int.self, forKey: .overruns)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("status", forKey: .type)
        try container.encode(seq, forKey: .seq)
        try container.encode(time, forKey: .time)
        try container.encode(source, forKey: .source)
        try container.encode(state, forKey: .state)
        try container.encode(detail, forKey: .detail)
        try container.encode(droppedFrames, forKey: .droppedFrames)
        try container.encode(overruns, forKey: .overruns)
    }
}
