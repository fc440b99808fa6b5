import MerdEvents
import Testing

@Suite("Server messages: what a client reads")
struct ServerMessageTests {
    /// Values as a line carries them: times to the millisecond, probabilities to 3 places,
    /// labels in the line's (sorted) order. Decoding cannot recover more than the line holds.
    static let sorted = ["angry", "happy", "neutral", "sad", "surprise", "worried"]
    static let messages: [ServerMessage] = [
        .hello(Samples.hello), .hello(Samples.audioOnlyHello),
        .utterance(UtteranceEvent(seq: 42, time: Samples.time, start: 12.48, end: 15.91,
                                  emotion: EmotionEstimate(labels: sorted, probabilities: [0.02, 0.81, 0.08, 0.03, 0.03, 0.03]),
                                  valence: -2.7, audio: true, face: true, faceFrames: 41, faceFramesMissing: 3, latencyMilliseconds: 184)),
        .utterance(Samples.bareUtterance),
        .face(FaceEvent(seq: 43, time: Samples.time, mediaTime: 16.2, faces: 1, box: [112, 105, 106, 141],
                        emotion: EmotionEstimate(labels: sorted, probabilities: [0.065, 0.001, 0.844, 0.056, 0.005, 0.028]),
                        valence: 1.25, window: 1)),
        .face(Samples.bareFace),
        .status(Samples.status), .status(StatusEvent(seq: 3, time: Samples.time, source: "audio", state: .reconnecting, detail: "")),
        .dropped(DroppedNotice(count: 17)), .error(ErrorReply(message: "already subscribed")),
    ]

    static func line(_ message: ServerMessage) -> String {
        switch message {
        case .dropped(let notice): return notice.jsonLine()
        case .error(let reply): return reply.jsonLine()
        case .unknown(_, let raw): return raw
        default: return message.event!.jsonLine()
        }
    }

    @Test("decode(encode(x)) == x for every message type", arguments: messages)
    func roundTrip(_ message: ServerMessage) throws {
        let line = Self.line(message)
        #expect(try ServerMessage(line: line) == message, "\(line)")
        #expect(try ServerMessage(line: line).type == message.type)
    }

    @Test("the hand-written lines decode to the events they were written from (rounded as on the wire)")
    func handWritten() throws {
        guard case .face(let face) = try ServerMessage(line: Samples.faceLine) else { Issue.record("not a face"); return }
        #expect(face.box == [112, 105, 106, 141] && face.mediaTime == 16 && face.emotion?.top == "neutral")
        #expect(face.valence == -0.44 && face.arousal == 0.13 && face.probs8?["neutral"] == 0.844 && face.source.valence == "face:enet_b0_8_va_mtl")
        #expect(face.emotion?.probability(of: "neutral") == 0.844)
        guard case .utterance(let utterance) = try ServerMessage(line: Samples.bareUtteranceLine) else { Issue.record("not an utterance"); return }
        #expect(utterance == Samples.bareUtterance)
        #expect(try ServerMessage(line: Samples.helloLine) == .hello(Samples.hello))
        #expect(try ServerMessage(line: Samples.statusLine) == .status(Samples.status))
    }

    @Test("a type added later decodes as unknown, with the line as it came")
    func unknownType() throws {
        let line = #"{"type":"tracks","tracks":[{"id":3}]}"#
        #expect(try ServerMessage(line: line) == .unknown(type: "tracks", raw: line))
        let metrics = #"{"type":"metrics","text":"merd_events_total 3\n"}"#
        #expect(try ServerMessage(line: metrics) == .metrics(MetricsReply(text: "merd_events_total 3\n")))
    }

    @Test("fields this build does not know (EVENTS.md, Additions still to come) are ignored; lines without the newer ones still decode")
    func extraFields() throws {
        let utterance = Samples.bareUtteranceLine.replacingOccurrences(of: #""end":"#, with: #""gaze":{"yaw":3,"pitch":-1},"end":"#)
        #expect(try ServerMessage(line: utterance) == .utterance(Samples.bareUtterance))
        // Who spoke (issue 18's addition) decodes; a line without it leaves both nil.
        let spoken = Samples.bareUtteranceLine.replacingOccurrences(
            of: #""end":"#, with: #""speaker":{"track":3,"confidence":0.91},"speaker_visible":true,"end":"#)
        var withSpeaker = Samples.bareUtterance
        withSpeaker.speaker = UtteranceEvent.Speaker(track: 3, confidence: 0.91)
        withSpeaker.speakerVisible = true
        #expect(try ServerMessage(line: spoken) == .utterance(withSpeaker))
        #expect(Samples.bareUtterance.speaker == nil && Samples.bareUtterance.speakerVisible == nil)
        // On the wire: both with a face stage (speaker null when no visible face spoke);
        // neither without one, or when it could not be told.
        #expect(Event.utterance(withSpeaker).jsonLine().contains(#""speaker":{"confidence":0.91,"track":3},"speaker_visible":true"#))
        var unseen = Samples.bareUtterance
        unseen.speakerVisible = false
        #expect(Event.utterance(unseen).jsonLine().contains(#""speaker":null,"speaker_visible":false"#))
        #expect(!Event.utterance(Samples.bareUtterance).jsonLine().contains("speaker"))
        // A line from before `arousal` and `source` were added.
        let older = Samples.bareUtteranceLine.replacingOccurrences(of: #""arousal":null,"#, with: "")
            .replacingOccurrences(of: #""source":{"arousal":null,"emotion":null,"valence":null},"#, with: "")
        #expect(try ServerMessage(line: older) == .utterance(Samples.bareUtterance))
        let hello = Samples.helloLine.replacingOccurrences(of: #""schema":1"#, with: #""run":"a1b2","schema":1"#)
        var withRun = Samples.hello
        withRun.run = "a1b2"
        #expect(try ServerMessage(line: hello) == .hello(withRun))
        #expect(try ServerMessage(line: #"{"count":2,"since":40,"type":"dropped"}"#) == .dropped(DroppedNotice(count: 2)))
    }

    @Test("a malformed line is a clear error that names the field, not a crash", arguments: [
        ("hello?", "the line: The given data was not valid JSON."),
        ("[1]", "the line is not an object"),
        ("{}", "'type' is missing"),
        (#"{"type":5}"#, "'type' is not a string"),
        (#"{"type":"face"}"#, #""face" line: 'seq' is missing"#),
        (#"{"type":"face","seq":1,"time":"t","media_time":1,"faces":1,"window":1,"box":[1,"a"]}"#, #""face" line: 'box[1]' is not a number"#),
        (#"{"type":"face","seq":1,"time":"t","media_time":1,"faces":1,"window":null}"#, #""face" line: 'window' is null"#),
        (#"{"type":"utterance","seq":1,"time":"t","start":1,"end":2,"modalities":{"audio":true},"latency_ms":3}"#,
         #""utterance" line: 'modalities.face' is missing"#),
        (#"{"type":"status","seq":1,"time":"t","source":"video","state":"exploded","detail":"","dropped_frames":0,"overruns":0}"#,
         #""status" line: 'state': "exploded" is not one of running, lost, reconnecting, stopped"#),
        (#"{"type":"hello","schema":1,"version":"1","labels":[],"valence_range":[5,-5],"sources":{},"models":{}}"#,
         #""hello" line: 'valence_range': expected [lowest, highest], got [5.0, -5.0]"#),
    ])
    func malformed(_ line: String, _ expected: String) {
        #expect(throws: MessageDecodingError(description: expected)) { try ServerMessage(line: line) }
    }
}

@Suite("Subscribe requests: what a client sends")
struct SubscribeRequestTests {
    @Test("the line a client sends parses back; a name this build does not know is kept, for the server to quote")
    func parse() throws {
        let request = SubscribeRequest(types: [.utterance, .status])
        #expect(try SubscribeRequest(jsonLine: Array(request.jsonLine().utf8)) == request)
        #expect(try SubscribeRequest(jsonLine: Array(#" {"subscribe": ["faces"]} "#.utf8)).types == ["faces"])
        #expect(try SubscribeRequest(jsonLine: Array(#"{"subscribe":[]}"#.utf8)).types == [])
    }

    @Test("since, alone or with a subscribe list; the metrics request", arguments: [
        (#"{"subscribe":["face"],"since":3}"#, ClientRequest.subscribe(SubscribeRequest(types: [.face], since: 3))),
        (#"{"since":0}"#, ClientRequest.subscribe(SubscribeRequest(types: nil, since: 0))),
        (#"{"metrics":true}"#, ClientRequest.metrics),
    ])
    func resumeAndMetrics(_ line: String, _ expected: ClientRequest) throws {
        #expect(try ClientRequest(jsonLine: Array(line.utf8)) == expected)
        #expect(try ClientRequest(jsonLine: Array(expected.jsonLine().utf8)) == expected)
    }

    @Test("anything but a subscribe list and a seq is refused (the server then replies with an error)", arguments: [
        "hello?", #"{"subscribe":"face"}"#, #"{"subscribe":["face",1]}"#, #"{"subscribe":["face"],"since":-3}"#, #"{"since":"3"}"#,
        #"{"subscribe":["face"],"until":3}"#, #"{"Subscribe":["face"]}"#, "{}", #"["face"]"#, #"{"metrics":false}"#, #"{"metrics":true,"since":1}"#,
    ])
    func refused(_ line: String) {
        #expect(throws: MessageDecodingError.self) { try ClientRequest(jsonLine: Array(line.utf8)) }
    }
}
