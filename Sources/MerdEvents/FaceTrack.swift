/// One tracked face of a `face` event (v1 addition, `tracks`): its id, which lasts while the
/// face stays in view (and across absences up to `engine.face_track_seconds`), and the face
/// model's estimate over the event's window from that face's frames only.
public struct FaceTrack: Sendable, Equatable, Codable {
    public var id: Int
    /// `[x, y, width, height]` in pixels of the face's latest frame.
    public var box: [Int]
    public var emotion: EmotionEstimate?
    /// On the [-5, 5] scale (2 places on the wire); nil when the face model has no valence.
    public var valence: Float?
    public var arousal: Float?

    public init(id: Int, box: [Int], emotion: EmotionEstimate?, valence: Float? = nil, arousal: Float? = nil) {
        self.id = id
        self.box = box
        self.emotion = emotion
        self.valence = valence
        self.arousal = arousal
    }

    private enum CodingKeys: String, CodingKey { case id, box, emotion, valence, arousal }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int.self, forKey: .id)
        box = try container.decode([Int].self, forKey: .box)
        emotion = try container.decodeIfPresent(EmotionEstimate.self, forKey: .emotion)
        valence = try container.decodeIfPresent(Float.self, forKey: .valence)
        arousal = try container.decodeIfPresent(Float.self, forKey: .arousal)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(box, forKey: .box)
        try container.encodeOrNull(emotion.flatMap { $0.isFinite ? $0 : nil }, forKey: .emotion)
        try container.encodeOrNull(valence.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .valence)
        try container.encodeOrNull(arousal.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .arousal)
    }
}
