/// The greeting every subscriber gets on connect: what this daemon is and what it runs.
public struct Hello: Sendable, Equatable, Codable {
    /// The protocol's schema number (1 for v1); a client refuses a schema it does not know.
    public var schema: Int
    /// merd's version.
    public var version: String
    /// The emotion labels, in the models' order.
    public var labels: [String]
    /// The scale of every `valence` (`[-5, 5]`).
    public var valenceRange: ClosedRange<Double>
    /// Source names (`audio`, `video`) and what each opened (`alsa:default`, `/dev/video0`).
    public var sources: [String: String]
    /// `audio` and `fusion` model names (null when not loaded).
    public var models: [String: String?]
    /// The face encoders' model names (`visual`, a list; null without face models).
    public var visualModels: [String]?
    /// Every model loaded, with its role, licence and sha256 (v1 addition, `model_details`).
    public var loadedModels: [LoadedModel]
    /// This daemon run's id (v1 addition, `run`): with history on, `seq` continues across
    /// runs, and a client that resumes with `since` can tell that the daemon restarted.
    public var run: String?

    public init(version: String, labels: [String], sources: [String: String], models: [String: String?], visualModels: [String]? = nil,
                loadedModels: [LoadedModel] = [], run: String? = nil) {
        schema = 1
        self.version = version
        self.labels = labels
        valenceRange = -5...5
        self.sources = sources
        self.models = models
        self.visualModels = visualModels
        self.loadedModels = loadedModels
        self.run = run
    }

    private enum CodingKeys: String, CodingKey {
        case type, schema, version, labels, valenceRange = "valence_range", sources, models
        case loadedModels = "model_details"
        case run
    }

    /// The key of `visualModels` inside `models`.
    private static let visualKey = AnyCodingKey("visual")

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(Int.self, forKey: .schema)
        version = try container.decode(String.self, forKey: .version)
        labels = try container.decode([String].self, forKey: .labels)
        let range = try container.decode([Double].self, forKey: .valenceRange)
        guard range.count == 2, range[0] <= range[1] else {
            throw DecodingError.dataCorruptedError(forKey: .valenceRange, in: container, debugDescription: "expected [lowest, highest], got \(range)")
        }
        valenceRange = range[0]...range[1]
        sources = try container.decode([String: String].self, forKey: .sources)
        let models = try container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .models)
        var names: [String: String?] = [:]
        for key in models.allKeys where key.stringValue != Self.visualKey.stringValue {
            names[key.stringValue] = .some(try models.decodeIfPresent(String.self, forKey: key))
        }
        self.models = names
        visualModels = try models.decodeIfPresent([String].self, forKey: Self.visualKey)
        loadedModels = try container.decodeIfPresent([LoadedModel].self, forKey: .loadedModels) ?? []
        run = try container.decodeIfPresent(String.self, forKey: .run)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("hello", forKey: .type)
        try container.encode(schema, forKey: .schema)
        try container.encode(version, forKey: .version)
        try container.encode(labels, forKey: .labels)
        try container.encode([valenceRange.lowerBound, valenceRange.upperBound], forKey: .valenceRange)
        try container.encode(sources, forKey: .sources)
        var models = container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .models)
        for (name, model) in self.models { try models.encodeOrNull(model, forKey: AnyCodingKey(name)) }
        try models.encodeOrNull(visualModels, forKey: Self.visualKey)
        try container.encode(loadedModels, forKey: .loadedModels)
        try container.encodeIfPresent(run, forKey: .run)
    }
}
