import Foundation
import MerdEvents
import Testing

@Suite("Event lines: what the daemon writes")
struct EventLineTests {
    @Test("each event type is exactly the line EVENTS.md describes: sorted keys, rounded numbers, explicit nulls")
    func lines() {
        #expect(Event.utterance(Samples.utterance).jsonLine() == Samples.utteranceLine)
        #expect(Event.utterance(Samples.bareUtterance).jsonLine() == Samples.bareUtteranceLine)
        #expect(Event.face(Samples.face).jsonLine() == Samples.faceLine)
        #expect(Event.face(Samples.bareFace).jsonLine() == Samples.bareFaceLine)
        #expect(Event.status(Samples.status).jsonLine() == Samples.statusLine)
        #expect(Event.hello(Samples.hello).jsonLine() == Samples.helloLine)
        #expect(Event.hello(Samples.audioOnlyHello).jsonLine() == Samples.audioOnlyHelloLine)
    }

    @Test("the replies to one client: dropped and error; and the client's subscribe line")
    func controlLines() {
        #expect(DroppedNotice(count: 17).jsonLine() == #"{"count":17,"type":"dropped"}"#)
        #expect(ErrorReply(message: "unknown subscribe type 'faces' (known: face, status, utterance)").jsonLine()
            == #"{"message":"unknown subscribe type 'faces' (known: face, status, utterance)","type":"error"}"#)
        #expect(ErrorReply(message: "say \"hi\"/\n").jsonLine() == #"{"message":"say \"hi\"/\n","type":"error"}"#)
        #expect(SubscribeRequest(types: [.utterance, .face]).jsonLine() == #"{"subscribe":["utterance","face"]}"#)
    }

    @Test("a number that is not one (a model's NaN) goes out as null, not as a crash or an invented value")
    func nonFinite() {
        var utterance = Samples.utterance
        utterance.valence = .nan
        utterance.emotion = EmotionEstimate(labels: Samples.labels, probabilities: [.nan, 0, 1, 0, 0, 0])
        let line = Event.utterance(utterance).jsonLine()
        #expect(line.contains(#""confidence":null"#) && line.contains(#""emotion":null"#) && line.contains(#""valence":null"#), "\(line)")
        var face = Samples.face
        face.valence = .infinity
        #expect(Event.face(face).jsonLine().contains(#""valence":null"#))
    }

    @Test("seq is set when the event is numbered, except on hello; type names the subscription")
    func numbering() {
        #expect(Event.status(Samples.status).numbered(9).jsonLine().contains(#""seq":9,"#))
        #expect(Event.hello(Samples.hello).numbered(9) == .hello(Samples.hello))
        #expect([Event.hello(Samples.hello), .utterance(Samples.utterance), .face(Samples.face), .status(Samples.status)].map(\.type)
            == ["hello", "utterance", "face", "status"])
        #expect(Event.face(Samples.face).eventType == .face && Event.hello(Samples.hello).eventType == nil)
    }
}

@Suite("Wall clock")
struct WallClockTests {
    @Test("time is RFC 3339 UTC with milliseconds rounded to the nearest, as ISO8601DateFormatter wrote it")
    func parity() {
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Whole milliseconds (a Double just below .004 must still say .004), then an irregular
        // walk over 1970–2100 that crosses month ends, leap days and sub-millisecond rests.
        var dates = (0..<5000).map { Date(timeIntervalSince1970: 1_795_623_601 + Double($0) / 1000) }
        dates += (0..<20000).map { Date(timeIntervalSince1970: Double($0) * 205_321.987_654_3) }
        let differing = dates.filter { Event.wallClock($0) != reference.string(from: $0) }
        #expect(differing.isEmpty, "\(differing.prefix(3).map { ($0.timeIntervalSince1970, Event.wallClock($0), reference.string(from: $0)) })")
        #expect(Event.wallClock(Date(timeIntervalSince1970: 1_795_623_601.123)) == "2026-11-25T16:20:01.123Z")
        #expect(Event.wallClock(Date(timeIntervalSince1970: 1_795_623_601.9996)) == "2026-11-25T16:20:02.000Z", "rounding carries")
    }

    @Test("a time read back, and shown as a local time of day")
    func timeOfDay() throws {
        let date = try #require(WallClock.date(rfc3339: "2026-11-25T16:20:01.123Z"))
        #expect(WallClock.timeOfDay(date, in: TimeZone(secondsFromGMT: 0)!) == "16:20:01.123")
        #expect(WallClock.timeOfDay(date, in: TimeZone(secondsFromGMT: 5 * 3600 + 1800)!) == "21:50:01.123")
        #expect(WallClock.timeOfDay(date, in: TimeZone(secondsFromGMT: -17 * 3600)!) == "23:20:01.123", "the day before")
        let offset = try #require(WallClock.date(rfc3339: "2026-11-25T17:20:01.123+01:00"))
        #expect(WallClock.timeOfDay(offset, in: TimeZone(secondsFromGMT: 0)!) == "16:20:01.123")
        #expect(WallClock.date(rfc3339: "2026-11-25T16:20:01Z") != nil && WallClock.date(rfc3339: "yesterday") == nil)
    }
}
