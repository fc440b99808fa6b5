/// Which model gave each decoded field of an event (EVENTS.md, Additions): `"fusion"`,
/// `"face:<model>"`, `"speech:<model>"`, or `"speech+face"` for a fixed combination of the two.
/// A field no model gave is null, as the field itself is.
public struct EventSource: Sendable, Equatable, Codable {
    public var emotion: String?
    public var valence: String?
    public var arousal: String?

    public init(emotion: String? = nil, valence: String? = nil, arousal: String? = nil) {
        self.emotion = emotion
        self.valence = valence
        self.arousal = arousal
    }

    /// The fusion model's name in `source`.
    public static let fusion = "fusion"
    /// `face:<model>`.
    public static func face(_ model: String) -> String { "face:\(model)" }
    /// `speech:<model>`.
    public static func speech(_ model: String) -> String { "speech:\(model)" }
    /// A fixed combination of the speech and the face model (docs/events.md gives it).
    public static let speechAndFace = "speech+face"

    private enum CodingKeys: String, CodingKey { case emotion, valence, arousal }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        emotion = try container.decodeIfPresent(String.self, forKey: .emotion)
        valence = try container.decodeIfPresent(String.self, forKey: .valence)
        arousal = try container.decodeIfPresent(String.self, forKey: .arousal)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(emotion, forKey: .emotion)
        try container.encodeOrNull(valence, forKey: .valence)
        try container.encodeOrNull(arousal, forKey: .arousal)
    }
}

/// A model the daemon loaded, as `hello` lists it: what it does, its name, licence and the
/// sha256 of its weights when known.
public struct LoadedModel: Sendable, Equatable, Codable {
    /// `speech-features`, `speech-emotion`, `face-detector`, `face-landmarks`, `face`, `fusion`.
    public var role: String
    public var name: String
    public var license: String?
    public var sha256: String?

    public init(role: String, name: String, license: String?, sha256: String? = nil) {
        self.role = role
        self.name = name
        self.license = license
        self.sha256 = sha256
    }

    private enum CodingKeys: String, CodingKey { case role, name, license, sha256 }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        name = try container.decode(String.self, forKey: .name)
        license = try container.decodeIfPresent(String.self, forKey: .license)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(name, forKey: .name)
        try container.encodeOrNull(license, forKey: .license)
        try container.encodeOrNull(sha256, forKey: .sha256)
    }
}
