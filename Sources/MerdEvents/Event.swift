import Foundation

/// An event of protocol v1 (EVENTS.md, docs/events.md): what subscribers read, one JSON object
/// per line. Fields that cannot be computed are null, never invented.
public enum Event: Sendable, Equatable {
    case hello(Hello)
    case utterance(UtteranceEvent)
    case face(FaceEvent)
    case status(StatusEvent)

    /// `utterance`, `face`, `status` (subscriptions filter by this); `hello` for the greeting.
    public var type: String {
        switch self {
        case .hello: return "hello"
        case .utterance: return "utterance"
        case .face: return "face"
        case .status: return "status"
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
    public func jsonLine() -> String {
        let object: [String: Any?]
        switch self {
        case .hello(let e): object = e.fields
        case .utterance(let e): object = e.fields
        case .face(let e): object = e.fields
        case .status(let e): object = e.fields
        }
        return Event.encode(object)
    }

    static func encode(_ object: [String: Any?]) -> String {
        let cleaned = object.mapValues { $0 ?? NSNull() }
        let data = try! JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// RFC 3339 with milliseconds and the offset (`2026-11-25T16:20:01.123Z`).
    public static func wallClock(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// Emotion probabilities over the labels and the top one.
public struct EmotionEstimate: Sendable, Equatable {
    public let labels: [String]
    public let probabilities: [Float]

    public init(labels: [String], probabilities: [Float]) {
        self.labels = labels
        self.probabilities = probabilities
    }

    public var top: String { labels[probabilities.indices.max { probabilities[$0] < probabilities[$1] }!] }

    /// 1 − normalised entropy of the posterior: 1 when certain, 0 when uniform.
    public var confidence: Float {
        let entropy = probabilities.reduce(Float(0)) { $0 - ($1 > 0 ? $1 * Foundation.log($1) : 0) }
        return 1 - entropy / Foundation.log(Float(labels.count))
    }

    var fields: [String: Any] {
        let rounded = zip(labels, probabilities).map { ($0, (Double($1) * 1000).rounded() / 1000) }
        return ["label": top, "probs": Dictionary(uniqueKeysWithValues: rounded)]
    }
}

public struct Hello: Sendable, Equatable {
    public var version: String
    public var labels: [String]
    public var sources: [String: String]
    /// `audio` and `fusion` model names (null when not loaded).
    public var models: [String: String?]
    /// The face encoders' model names (`visual`, a list; null without face models).
    public var visualModels: [String]?

    public init(version: String, labels: [String], sources: [String: String], models: [String: String?], visualModels: [String]? = nil) {
        self.version = version
        self.labels = labels
        self.sources = sources
        self.models = models
        self.visualModels = visualModels
    }

    var fields: [String: Any?] {
        var modelFields: [String: Any] = models.mapValues { value -> Any in value ?? NSNull() }
        modelFields["visual"] = visualModels.map { $0 as Any } ?? NSNull()
        return ["type": "hello", "schema": 1, "version": version, "labels": labels, "valence_range": [-5, 5],
                "sources": sources, "models": modelFields]
    }
}

public struct UtteranceEvent: Sendable, Equatable {
    public var seq: Int
    public var time: String
    /// Capture-clock seconds.
    public var start: Double
    public var end: Double
    public var emotion: EmotionEstimate?
    public var valence: Float?
    public var audio: Bool
    public var face: Bool
    public var faceFrames: Int
    public var faceFramesMissing: Int
    public var latencyMilliseconds: Int

    public init(seq: Int, time: String, start: Double, end: Double, emotion: EmotionEstimate?, valence: Float?, audio: Bool,
                face: Bool, faceFrames: Int, faceFramesMissing: Int, latencyMilliseconds: Int) {
        self.seq = seq
        self.time = time
        self.start = start
        self.end = end
        self.emotion = emotion
        self.valence = valence
        self.audio = audio
        self.face = face
        self.faceFrames = faceFrames
        self.faceFramesMissing = faceFramesMissing
        self.latencyMilliseconds = latencyMilliseconds
    }

    var fields: [String: Any?] {
        ["type": "utterance", "seq": seq, "time": time, "start": Self.round(start), "end": Self.round(end),
         "duration": Self.round(end - start), "emotion": emotion?.fields, "valence": valence.map { (Double($0) * 100).rounded() / 100 },
         "confidence": emotion.map { (Double($0.confidence) * 1000).rounded() / 1000 },
         "modalities": ["audio": audio, "face": face, "face_frames": faceFrames, "face_frames_missing": faceFramesMissing],
         "latency_ms": latencyMilliseconds]
    }

    static func round(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }
}

public struct FaceEvent: Sendable, Equatable {
    public var seq: Int
    public var time: String
    public var mediaTime: Double
    public var faces: Int
    public var box: [Int]?
    public var emotion: EmotionEstimate?
    public var window: Double

    public init(seq: Int, time: String, mediaTime: Double, faces: Int, box: [Int]?, emotion: EmotionEstimate?, window: Double) {
        self.seq = seq
        self.time = time
        self.mediaTime = mediaTime
        self.faces = faces
        self.box = box
        self.emotion = emotion
        self.window = window
    }

    var fields: [String: Any?] {
        ["type": "face", "seq": seq, "time": time, "media_time": UtteranceEvent.round(mediaTime), "faces": faces,
         "box": box, "emotion": emotion?.fields, "valence": nil, "window": window]
    }
}

public struct StatusEvent: Sendable, Equatable {
    public enum State: String, Sendable { case running, lost, reconnecting, stopped }
    public var seq: Int
    public var time: String
    public var source: String
    public var state: State
    public var detail: String
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

    var fields: [String: Any?] {
        ["type": "status", "seq": seq, "time": time, "source": source, "state": state.rawValue, "detail": detail,
         "dropped_frames": droppedFrames, "overruns": overruns]
    }
}
