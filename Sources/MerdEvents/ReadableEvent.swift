import Foundation

/// Lines for people (`merd subscribe` without `--json`), one per message, each starting with
/// the wall-clock time of day with milliseconds in the local time zone (or the one given):
///
///     16:20:01.123  utterance 12.48–15.91 s  happy 0.81  valence +2.70  (184 ms)
///     16:20:02.001  face 1 face  neutral 0.62  box 112,105 106×141
///
/// The time is the event's own `time`; a message without one (`hello`, `dropped`, `error`,
/// unknown types) shows when it was received.
public enum ReadableEvent {
    /// `raw` made readable; a line that does not decode, or of an unknown type, is shown as it
    /// came (after the time), so nothing the daemon says is hidden.
    public static func line(for raw: String, received: Date, timeZone: TimeZone = .current) -> String {
        guard let message = try? ServerMessage(line: raw) else {
            return "\(WallClock.timeOfDay(received, in: timeZone))  \(raw)"
        }
        return line(for: message, received: received, timeZone: timeZone)
    }

    public static func line(for message: ServerMessage, received: Date, timeZone: TimeZone = .current) -> String {
        let time: String? = switch message {
        case .utterance(let e): e.time
        case .face(let e): e.time
        case .status(let e): e.time
        case .hello, .dropped, .error, .metrics, .unknown: nil
        }
        let date = time.flatMap(WallClock.date(rfc3339:)) ?? received
        return "\(WallClock.timeOfDay(date, in: timeZone))  \(text(of: message))"
    }

    /// The message without the time.
    public static func text(of message: ServerMessage) -> String {
        switch message {
        case .utterance(let e):
            var parts = [String(format: "utterance %.2f–%.2f s", e.start, e.end), emotion(e.emotion)]
            if let valence = e.valence { parts.append(String(format: "valence %+.2f", Double(valence))) }
            if let arousal = e.arousal { parts.append(String(format: "arousal %+.2f", Double(arousal))) }
            if let speaker = e.speaker {
                parts.append(String(format: "face %d spoke (%.2f)", speaker.track, speaker.confidence))
            } else if e.speakerVisible == false {
                parts.append("unseen speaker")
            }
            parts.append("(\(e.latencyMilliseconds) ms)")
            return parts.joined(separator: "  ")
        case .face(let e):
            var parts = ["face \(e.faces) \(e.faces == 1 ? "face" : "faces")", emotion(e.emotion)]
            if let valence = e.valence { parts.append(String(format: "valence %+.2f", Double(valence))) }
            if let arousal = e.arousal { parts.append(String(format: "arousal %+.2f", Double(arousal))) }
            if let box = e.box, box.count == 4 { parts.append("box \(box[0]),\(box[1]) \(box[2])×\(box[3])") }
            return parts.joined(separator: "  ")
        case .status(let e):
            let detail = e.detail.isEmpty ? "" : " — \(e.detail)"
            return "status \(e.source) \(e.state.rawValue)\(detail) (dropped frames \(e.droppedFrames), overruns \(e.overruns))"
        case .hello(let e):
            let sources = e.sources.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            var models = e.models.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value ?? "none")" }
            models.append("visual=\(e.visualModels?.joined(separator: ",") ?? "none")")
            return "hello merd \(e.version) schema \(e.schema), labels \(e.labels.joined(separator: "/")), "
                + "sources \(sources.joined(separator: " ")), models \(models.joined(separator: " "))"
        case .dropped(let notice):
            return "dropped \(notice.count) \(notice.count == 1 ? "event" : "events") (this client read too slowly)"
        case .error(let reply):
            return "error: \(reply.message)"
        case .metrics(let reply):
            return "metrics\n" + reply.text
        case .unknown(_, let raw):
            return raw
        }
    }

    private static func emotion(_ estimate: EmotionEstimate?) -> String {
        guard let estimate, let probability = estimate.probability(of: estimate.top) else { return "emotion unknown" }
        return estimate.top + String(format: " %.2f", Double(probability))
    }
}
