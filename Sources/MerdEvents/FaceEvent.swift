/// A periodic visual-only estimate while a face is visible (none while none is).
public struct FaceEvent: Sendable, Equatable, Codable {
    /// The event's number in this daemon run (every type counts).
    public var seq: Int
    /// Wall clock at emission, RFC 3339 (`Event.wallClock()`).
    public var time: String
    /// Capture-clock seconds of the estimate (milliseconds on the wire).
    public var mediaTime: Double
    /// How many faces the detector found.
    public var faces: Int
    /// The face `[x, y, width, height]` in pixels of the latest frame; nil when unknown.
    public var box: [Int]?
    /// The face encoder's estimate folded onto the labels; nil without a usable face.
    public var emotion: EmotionEstimate?
    /// On the [-5, 5] scale (2 places on the wire): the face encoder's own valence over the
    /// window (EmotiEffLib's AffectNet valence, [-1, 1], times 5); nil when the first encoder
    /// has no valence output.
    public var valence: Float?
    /// The seconds averaged.
    public var window: Double

    public init(seq: Int, time: String, mediaTime: Double, faces: Int, box: [Int]?, emotion: EmotionEstimate?, valence: Float? = nil,
                window: Double) {
        self.seq = seq
        self.time = time
        self.mediaTime = mediaTime
        self.faces = faces
        self.box = box
        self.emotion = emotion
        self.valence = valence
        self.window = window
    }

    private enum CodingKeys: String, CodingKey {
        case type, seq, time, mediaTime = "media_time", faces, box, emotion, valence, window
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        time = try container.decode(String.self, forKey: .time)
        mediaTime = try container.decode(Double.self, forKey: .mediaTime)
        faces = try container.decode(Int.self, forKey: .faces)
        box = try container.decodeIfPresent([Int].self, forKey: .box)
        emotion = try container.decodeIfPresent(EmotionEstimate.self, forKey: .emotion)
        valence = try container.decodeIfPresent(Float.self, forKey: .valence)
        window = try container.decode(Double.self, forKey: .window)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("face", forKey: .type)
        try container.encode(seq, forKey: .seq)
        try container.encode(time, forKey: .time)
        try container.encode(mediaTime.rounded(scale: 1000), forKey: .mediaTime)
        try container.encode(faces, forKey: .faces)
        try container.encodeOrNull(box, forKey: .box)
        try container.encodeOrNull(emotion.flatMap { $0.isFinite ? $0 : nil }, forKey: .emotion)
        try container.encodeOrNull(valence.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .valence)
        try container.encode(window, forKey: .window)
    }
}
