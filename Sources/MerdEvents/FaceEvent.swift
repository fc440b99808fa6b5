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
    /// On the [-5, 5] scale (2 places on the wire); nil without a face model that gives it (v1 addition).
    public var arousal: Float?
    /// The face model's own class probabilities when its classes are not the six labels
    /// (AffectNet's eight), averaged like `emotion` (v1 addition; 3 places on the wire).
    public var probs8: [String: Float]?
    /// Which model gave `emotion`, `valence` and `arousal` (v1 addition).
    public var source: EventSource
    /// Every face tracked in the window, each with its own estimate, the largest first (v1
    /// addition; the single-face fields above describe the largest). nil from a daemon
    /// without tracking.
    public var tracks: [FaceTrack]?
    /// The seconds averaged.
    public var window: Double

    public init(seq: Int, time: String, mediaTime: Double, faces: Int, box: [Int]?, emotion: EmotionEstimate?, valence: Float? = nil,
                arousal: Float? = nil, probs8: [String: Float]? = nil, source: EventSource = EventSource(), tracks: [FaceTrack]? = nil,
                window: Double) {
        self.seq = seq
        self.time = time
        self.mediaTime = mediaTime
        self.faces = faces
        self.box = box
        self.emotion = emotion
        self.valence = valence
        self.arousal = arousal
        self.probs8 = probs8
        self.source = source
        self.tracks = tracks
        self.window = window
    }

    private enum CodingKeys: String, CodingKey {
        case type, seq, time, mediaTime = "media_time", faces, box, emotion, valence, arousal, probs8, source, tracks, window
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
        arousal = try container.decodeIfPresent(Float.self, forKey: .arousal)
        probs8 = try container.decodeIfPresent([String: Float].self, forKey: .probs8)
        source = try container.decodeIfPresent(EventSource.self, forKey: .source) ?? EventSource()
        tracks = try container.decodeIfPresent([FaceTrack].self, forKey: .tracks)
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
        try container.encodeOrNull(arousal.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .arousal)
        // Only a face model with other classes than the six has its own probabilities to add.
        if let probs8, probs8.values.allSatisfy(\.isFinite) {
            try container.encode(probs8.mapValues { Double($0).rounded(scale: 1000) }, forKey: .probs8)
        }
        try container.encode(source, forKey: .source)
        if let tracks { try container.encode(tracks, forKey: .tracks) }
        try container.encode(window, forKey: .window)
    }
}
