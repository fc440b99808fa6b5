import Foundation
import MerdEvents
import Testing

@Suite("Readable lines: merd subscribe without --json")
struct ReadableEventTests {
    static let utc = TimeZone(secondsFromGMT: 0)!
    /// When the line arrived: shown for messages that carry no time of their own.
    static let received = Date(timeIntervalSince1970: 1_795_623_605.5)  // 16:20:05.500 UTC

    static func readable(_ line: String, _ timeZone: TimeZone = utc) -> String {
        ReadableEvent.line(for: line, received: received, timeZone: timeZone)
    }

    @Test("every type is one line, wall-clock time first: the event's own time, else when it arrived")
    func everyType() {
        let expected = [
            Samples.utteranceLine: "16:20:01.123  utterance 12.48–15.91 s  happy 0.81  valence +2.70  arousal -1.24  (184 ms)",
            Samples.bareUtteranceLine: "16:20:01.123  utterance 0.49–2.21 s  emotion unknown  (212 ms)",
            Samples.faceLine: "16:20:01.123  face 1 face  neutral 0.84  valence -0.44  arousal +0.13  box 112,105 106×141",
            Samples.bareFaceLine: "16:20:01.123  face 2 faces  emotion unknown",
            Samples.statusLine: "16:20:01.123  status video running — /dev/video0 MJPEG 640x480@30 (dropped frames 2, overruns 1)",
            Samples.helloLine: "16:20:05.500  hello merd 0.1.0 schema 1, labels neutral/angry/happy/sad/worried/surprise, "
                + "sources audio=alsa:default video=/dev/video0, models audio=hubert-large fusion=none "
                + "visual=mtcnn,dlib-landmarks-68,mini-xception-fer2013",
            #"{"count":17,"type":"dropped"}"#: "16:20:05.500  dropped 17 events (this client read too slowly)",
            #"{"type":"dropped","count":1}"#: "16:20:05.500  dropped 1 event (this client read too slowly)",
            #"{"message":"unknown subscribe type 'faces'","type":"error"}"#: "16:20:05.500  error: unknown subscribe type 'faces'",
            #"{"type":"metrics","text":"x 1\n"}"#: "16:20:05.500  metrics\nx 1\n",
            #"{"type":"tracks","tracks":[]}"#: #"16:20:05.500  {"type":"tracks","tracks":[]}"#,
            "not json": "16:20:05.500  not json",
        ]
        for (line, readable) in expected {
            #expect(Self.readable(line) == readable)
        }
        // Who spoke: the face's track, or a voice no visible face made.
        let spoken = Samples.bareUtteranceLine.replacingOccurrences(
            of: #""end":"#, with: #""speaker":{"confidence":0.47,"track":3},"speaker_visible":true,"end":"#)
        #expect(Self.readable(spoken) == "16:20:01.123  utterance 0.49–2.21 s  emotion unknown  face 3 spoke (0.47)  (212 ms)")
        let unseen = Samples.bareUtteranceLine.replacingOccurrences(of: #""end":"#, with: #""speaker":null,"speaker_visible":false,"end":"#)
        #expect(Self.readable(unseen) == "16:20:01.123  utterance 0.49–2.21 s  emotion unknown  unseen speaker  (212 ms)")
    }

    @Test("the time of day is in the given zone (merd subscribe gives the local one)")
    func localTime() {
        let kolkata = TimeZone(secondsFromGMT: 5 * 3600 + 1800)!
        #expect(Self.readable(Samples.statusLine, kolkata).hasPrefix("21:50:01.123  status "))
        #expect(Self.readable(#"{"count":3,"type":"dropped"}"#, kolkata).hasPrefix("21:50:05.500  dropped "))
    }

    @Test("--json prints each line exactly as it came; readable lines do not", arguments: [
        Samples.utteranceLine, Samples.faceLine, Samples.helloLine, #"{ "type" : "status" }"#, #"{"type":"metrics"}"#, "not json", "",
    ])
    func json(_ line: String) {
        #expect(SubscriberOutput.json.line(for: line, received: Self.received) == line)
        #expect(SubscriberOutput.readable(Self.utc).line(for: line, received: Self.received) != line)
    }
}
