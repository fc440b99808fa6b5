import MerdEvents

/// Events as the engine builds them, and the lines EVENTS.md says they are, written by hand.
enum Samples {
    static let labels = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
    static let time = "2026-11-25T16:20:01.123Z"

    /// Unrounded, as the models give them: the line rounds.
    static let utterance = UtteranceEvent(
        seq: 42, time: time, start: 12.4804, end: 15.9096,
        emotion: EmotionEstimate(labels: labels, probabilities: [0.0804, 0.0196, 0.8104, 0.0299, 0.0301, 0.0296]),
        valence: 2.7049, arousal: -1.2351, source: EventSource(emotion: "fusion", valence: "fusion", arousal: "speech+face"),
        audio: true, face: true, faceFrames: 41, faceFramesMissing: 3, latencyMilliseconds: 184)
    static let utteranceLine = #"{"arousal":-1.24,"confidence":0.573,"duration":3.429,"# // of the unrounded probabilities and times
        + #""emotion":{"label":"happy","probs":{"angry":0.02,"happy":0.81,"neutral":0.08,"sad":0.03,"surprise":0.03,"worried":0.03}},"#
        + #""end":15.91,"latency_ms":184,"modalities":{"audio":true,"face":true,"face_frames":41,"face_frames_missing":3},"#
        + #""seq":42,"source":{"arousal":"speech+face","emotion":"fusion","valence":"fusion"},"#
        + #""start":12.48,"time":"2026-11-25T16:20:01.123Z","type":"utterance","valence":2.7}"#

    /// No fusion model: emotion, valence and confidence are null, never left out.
    static let bareUtterance = UtteranceEvent(
        seq: 7, time: time, start: 0.49, end: 2.21, emotion: nil, valence: nil, audio: true, face: false, faceFrames: 0,
        faceFramesMissing: 0, latencyMilliseconds: 212)
    static let bareUtteranceLine = #"{"arousal":null,"confidence":null,"duration":1.72,"emotion":null,"end":2.21,"latency_ms":212,"#
        + #""modalities":{"audio":true,"face":false,"face_frames":0,"face_frames_missing":0},"#
        + #""seq":7,"source":{"arousal":null,"emotion":null,"valence":null},"#
        + #""start":0.49,"time":"2026-11-25T16:20:01.123Z","type":"utterance","valence":null}"#

    static let face = FaceEvent(
        seq: 43, time: time, mediaTime: 16.0004, faces: 1, box: [112, 105, 106, 141],
        emotion: EmotionEstimate(labels: labels, probabilities: [0.8444, 0.0652, 0.0012, 0.0561, 0.0279, 0.0052]),
        valence: -0.4449, arousal: 0.125, probs8: ["anger": 0.0352, "contempt": 0.02, "disgust": 0.01, "fear": 0.0279, "happiness": 0.0012,
                                                   "neutral": 0.8444, "sadness": 0.0561, "surprise": 0.0052],
        source: EventSource(emotion: "face:enet_b0_8_va_mtl", valence: "face:enet_b0_8_va_mtl", arousal: "face:enet_b0_8_va_mtl"), window: 1)
    static let faceLine = #"{"arousal":0.13,"box":[112,105,106,141],"#
        + #""emotion":{"label":"neutral","probs":{"angry":0.065,"happy":0.001,"neutral":0.844,"sad":0.056,"surprise":0.005,"worried":0.028}},"#
        + #""faces":1,"media_time":16,"#
        + #""probs8":{"anger":0.035,"contempt":0.02,"disgust":0.01,"fear":0.028,"happiness":0.001,"neutral":0.844,"sadness":0.056,"surprise":0.005},"#
        + #""seq":43,"source":{"arousal":"face:enet_b0_8_va_mtl","emotion":"face:enet_b0_8_va_mtl","valence":"face:enet_b0_8_va_mtl"},"#
        + #""time":"2026-11-25T16:20:01.123Z","type":"face","valence":-0.44,"window":1}"#

    static let bareFace = FaceEvent(seq: 44, time: time, mediaTime: 3.5, faces: 2, box: nil, emotion: nil, window: 0.2)
    static let bareFaceLine = #"{"arousal":null,"box":null,"emotion":null,"faces":2,"media_time":3.5,"seq":44,"#
        + #""source":{"arousal":null,"emotion":null,"valence":null},"#
        + #""time":"2026-11-25T16:20:01.123Z","type":"face","valence":null,"window":0.2}"#

    static let status = StatusEvent(seq: 1, time: time, source: "video", state: .running, detail: "/dev/video0 MJPEG 640x480@30",
                                    droppedFrames: 2, overruns: 1)
    static let statusLine = #"{"detail":"/dev/video0 MJPEG 640x480@30","dropped_frames":2,"overruns":1,"seq":1,"source":"video","#
        + #""state":"running","time":"2026-11-25T16:20:01.123Z","type":"status"}"#

    static let hello = Hello(version: "0.1.0", labels: labels, sources: ["audio": "alsa:default", "video": "/dev/video0"],
                             models: ["audio": "hubert-large", "fusion": nil],
                             visualModels: ["mtcnn", "dlib-landmarks-68", "mini-xception-fer2013"],
                             loadedModels: [LoadedModel(role: "speech-features", name: "hubert-large", license: "apache-2.0",
                                                        sha256: "9a0c"),
                                            LoadedModel(role: "face", name: "mini-xception-fer2013", license: "MIT")])
    static let helloLine = #"{"labels":["neutral","angry","happy","sad","worried","surprise"],"#
        + #""model_details":[{"license":"apache-2.0","name":"hubert-large","role":"speech-features","sha256":"9a0c"},"#
        + #"{"license":"MIT","name":"mini-xception-fer2013","role":"face","sha256":null}],"#
        + #""models":{"audio":"hubert-large","fusion":null,"visual":["mtcnn","dlib-landmarks-68","mini-xception-fer2013"]},"#
        + #""schema":1,"sources":{"audio":"alsa:default","video":"/dev/video0"},"type":"hello","valence_range":[-5,5],"version":"0.1.0"}"#

    static let audioOnlyHello = Hello(version: "0.1.0", labels: labels, sources: ["audio": "alsa:default"], models: ["audio": nil, "fusion": nil])
    static let audioOnlyHelloLine = #"{"labels":["neutral","angry","happy","sad","worried","surprise"],"model_details":[],"#
        + #""models":{"audio":null,"fusion":null,"visual":null},"schema":1,"sources":{"audio":"alsa:default"},"type":"hello","#
        + #""valence_range":[-5,5],"version":"0.1.0"}"#
}
