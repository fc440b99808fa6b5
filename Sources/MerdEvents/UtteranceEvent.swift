/// One segmented utterance's estimate, emitted when the utterance ends.
///
/// On the wire, besides these fields: `duration` (`end − start`) and `confidence` (from
/// `emotion`), derived rather than stored so they cannot disagree with what they derive from
/// (decoded, they are recomputed from the line's rounded values, so the last digit may differ
/// from the line's); `emotion`, `valence` and `confidence` are null when no model gives them.
public struct UtteranceEvent: Sendable, Equatable, Codable {
    /// The event's number in this daemon run (every type counts).
    public var seq: Int
    /// Wall clock at emission, RFC 3339 (`Event.wallClock()`).
    public var time: String
    /// Capture-clock seconds (milliseconds on the wire).
    public var start: Double
    public var end: Double
    /// The fusion model's estimate; nil without one that could decide.
    public var emotion: EmotionEstimate?
    /// On the [-5, 5] scale (2 places on the wire); nil without a model that gives it.
    public var valence: Float?
    /// On the [-5, 5] scale (2 places on the wire); nil without a model that gives it (v1 addition).
    public var arousal: Float?
    /// Which model gave `emotion`, `valence` and `arousal` (v1 addition).
    public var source: EventSource
    /// Speech features were computed.
    public var audio: Bool
    /// At least one frame of the utterance had a usable face.
    public var face: Bool
    /// Analysed frames of the utterance with a usable face, and without one.
    public var faceFrames: Int
    public var faceFramesMissing: Int
    /// From the end of speech (capture clock) to emission.
    public var latencyMilliseconds: Int
    /// The tracked face that spoke (`face` events' `tracks` ids) and how well its mouth agreed
    /// with the speech (v1 addition); nil when no visible face spoke it or it could not be told.
    public var speaker: Speaker?
    /// Whether a visible face spoke it (v1 addition); nil without a face stage. False: a
    /// voice from off camera (a television, someone out of view).
    public var speakerVisible: Bool?

    /// The speaking face of an utterance.
    public struct Speaker: Sendable, Equatable, Codable {
        public var track: Int
        /// How well its mouth agreed with the sound (`ActiveSpeaker`: a canonical correlation,
        /// 0 to 0.67; GRID speakers 0.35–0.56), 3 places on the wire.
        public var confidence: Double

        public init(track: Int, confidence: Double) {
            self.track = track
            self.confidence = confidence
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(track, forKey: .track)
            try container.encode(confidence.rounded(scale: 1000), forKey: .confidence)
        }
    }

    public init(seq: Int, time: String, start: Double, end: Double, emotion: EmotionEstimate?, valence: Float?, arousal: Float? = nil,
                source: EventSource = EventSource(), audio: Bool, face: Bool, faceFrames: Int, faceFramesMissing: Int, latencyMilliseconds: Int,
                speaker: Speaker? = nil, speakerVisible: Bool? = nil) {
        self.seq = seq
        self.time = time
        self.start = start
        self.end = end
        self.emotion = emotion
        self.valence = valence
        self.arousal = arousal
        self.source = source
        self.audio = audio
        self.face = face
        self.faceFrames = faceFrames
        self.faceFramesMissing = faceFramesMissing
        self.latencyMilliseconds = latencyMilliseconds
        self.speaker = speaker
        self.speakerVisible = speakerVisible
    }

    private enum CodingKeys: String, CodingKey {
        case type, seq, time, start, end, duration, emotion, valence, arousal, source, confidence, modalities
        case latencyMilliseconds = "latency_ms"
        case speaker, speakerVisible = "speaker_visible"
    }

    private enum ModalityKeys: String, CodingKey {
        case audio, face, faceFrames = "face_frames", faceFramesMissing = "face_frames_missing"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        time = try container.decode(String.self, forKey: .time)
        start = try container.decode(Double.self, forKey: .start)
        end = try container.decode(Double.self, forKey: .end)
        emotion = try container.decodeIfPresent(EmotionEstimate.self, forKey: .emotion)
        valence = try container.decodeIfPresent(Float.self, forKey: .valence)
        arousal = try container.decodeIfPresent(Float.self, forKey: .arousal)
        source = try container.decodeIfPresent(EventSource.self, forKey: .source) ?? EventSource()
        let modalities = try container.nestedContainer(keyedBy: ModalityKeys.self, forKey: .modalities)
        audio = try modalities.decode(Bool.self, forKey: .audio)
        face = try modalities.decode(Bool.self, forKey: .face)
        faceFrames = try modalities.decode(Int.self, forKey: .faceFrames)
        faceFramesMissing = try modalities.decode(Int.self, forKey: .faceFramesMissing)
        latencyMilliseconds = try container.decode(Int.self, forKey: .latencyMilliseconds)
        speaker = try container.decodeIfPresent(Speaker.self, forKey: .speaker)
        speakerVisible = try container.decodeIfPresent(Bool.self, forKey: .speakerVisible)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("utterance", forKey: .type)
        try container.encode(seq, forKey: .seq)
        try container.encode(time, forKey: .time)
        try container.encode(start.rounded(scale: 1000), forKey: .start)
        try container.encode(end.rounded(scale: 1000), forKey: .end)
        try container.encode((end - start).rounded(scale: 1000), forKey: .duration)
        let emotion = emotion.flatMap { $0.isFinite ? $0 : nil }
        try container.encodeOrNull(emotion, forKey: .emotion)
        try container.encodeOrNull(valence.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .valence)
        try container.encodeOrNull(arousal.flatMap { Double($0).finite?.rounded(scale: 100) }, forKey: .arousal)
        try container.encode(source, forKey: .source)
        try container.encodeOrNull(emotion.flatMap { Double($0.confidence).finite?.rounded(scale: 1000) }, forKey: .confidence)
        var modalities = container.nestedContainer(keyedBy: ModalityKeys.self, forKey: .modalities)
        try modalities.encode(audio, forKey: .audio)
        try modalities.encode(face, forKey: .face)
        try modalities.encode(faceFrames, forKey: .faceFrames)
        try modalities.encode(faceFramesMissing, forKey: .faceFramesMissing)
        try container.encode(latencyMilliseconds, forKey: .latencyMilliseconds)
        // Only where a face stage ran: without one there is nothing to say about who spoke.
        if let speakerVisible {
            try container.encodeOrNull(speaker, forKey: .speaker)
            try container.encode(speakerVisible, forKey: .speakerVisible)
        }
    }
}
