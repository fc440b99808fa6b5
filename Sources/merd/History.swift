import ArgumentParser
import EventHistory
import Foundation
import MerdDaemon
import MerdEvents

/// `merd history`: the stored events, read from the daemon's history while it runs.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print stored events: readable lines, the JSON lines as sent (--json), or CSV (--csv).",
        discussion: """
            The history is the one `merd run` writes: --history, else history.path in the \
            configuration file, else /var/lib/merd/history.sqlite when it exists (the systemd \
            daemon's), else ~/.local/state/merd/history.sqlite. TIME is RFC 3339 \
            (2026-11-29T16:20:00Z, 2026-11-29T17:20:00+01:00) or a local date (2026-11-29).
            """)

    @Option(help: "The history file.")
    var history: String?
    @Option(help: "The configuration file whose history.path to read (default /etc/merd/merd.toml, when it exists).")
    var config: String?
    @Option(help: "Events after this seq.")
    var since: Int?
    @Option(help: "Events at or after TIME.")
    var from: String?
    @Option(help: "Events before TIME.")
    var until: String?
    @Option(help: "Event types, comma-separated (utterance,face,status).")
    var types: String?
    @Flag(help: "The JSON lines exactly as subscribers received them.")
    var json = false
    @Flag(help: "CSV: one row per event, a header first.")
    var csv = false

    func run() throws {
        guard !(json && csv) else { throw CommandFailure.usage("--json and --csv: choose one") }
        guard since == nil || from == nil else { throw CommandFailure.usage("--since and --from: choose one") }
        if let since, since < 0 { throw CommandFailure.usage("--since takes a seq, 0 or more; got \(since)") }
        var query = HistoryQuery(afterSeq: since ?? 0)
        query.from = try from.map { try Self.time($0, option: "--from") }
        query.until = try until.map { try Self.time($0, option: "--until") }
        if let from = query.from, let until = query.until, until <= from {
            throw CommandFailure.usage("--until must come after --from")
        }
        query.types = try types.map { text in
            Set(try CommaSeparated.values(text, option: "--types", what: "event types, e.g. utterance,face,status") { EventType(rawValue: $0)?.rawValue })
        }
        let file = try path()
        let store: EventHistory
        do { store = try EventHistory(readingAt: file) } catch { throw CommandFailure.runtime(error.description) }

        let format: Format = json ? .json : csv ? .csv : .readable
        if format == .csv { writeLine(HistoryCSV.header) }
        // Page by seq, so a long history streams out without being held in memory.
        while true {
            let page: [StoredEvent]
            do { page = try store.events(query, limit: 1000) } catch { throw CommandFailure.runtime(error.description) }
            for event in page { writeLine(format.line(event)) }
            guard let last = page.last, page.count == 1000 else { break }
            query.afterSeq = last.seq
        }
    }

    /// The history to read, as `History`'s discussion says.
    private func path() throws -> String {
        if let history { return history }
        let settings: DaemonConfiguration
        do {
            settings = try DaemonConfiguration.load(path: config ?? DaemonConfiguration.defaultPath, required: config != nil)
        } catch let problem as DaemonConfiguration.Problem {
            throw CommandFailure.usage(problem.description)
        }
        if let configured = settings.historyPath {
            guard !configured.isEmpty else { throw CommandFailure.usage("history is off in the configuration (history.path = \"\"); give --history FILE") }
            return configured
        }
        return HistoryLocation.forReading()
    }

    /// An RFC 3339 time, or a date (local midnight).
    static func time(_ text: String, option: String) throws -> Date {
        if let date = WallClock.date(rfc3339: text) { return date }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = .current
        day.dateFormat = "yyyy-MM-dd"
        if let date = day.date(from: text) { return date }
        throw CommandFailure.usage("\(option) takes an RFC 3339 time (2026-11-29T16:20:00Z) or a date (2026-11-29); got '\(text)'")
    }

    enum Format {
        case readable, json, csv

        func line(_ event: StoredEvent) -> String {
            switch self {
            case .json: return event.line
            case .csv: return HistoryCSV.row(event)
            case .readable:
                let text = (try? ServerMessage(line: event.line)).map(ReadableEvent.text(of:)) ?? event.line
                return "\(Self.stamp.string(from: event.time))  #\(event.seq)  \(text)"
            }
        }

        /// Local date and time with milliseconds: a history spans days.
        static let stamp: DateFormatter = {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = .current
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
            return formatter
        }()
    }
}

/// `merd history --csv`: the fields a spreadsheet wants of each event; a field an event type
/// does not have is empty.
enum HistoryCSV {
    /// Columns are only ever added at the end: scripts read them by position.
    static let header = "seq,time,run,type,label,probability,valence,arousal,confidence,start,end,latency_ms,faces,source,state,detail,speaker,speaker_visible"

    static func row(_ event: StoredEvent) -> String {
        var fields = [String](repeating: "", count: 18)
        fields[0] = String(event.seq)
        fields[1] = WallClock.rfc3339(event.time)
        fields[2] = event.run
        fields[3] = event.type
        func number(_ value: Float?) -> String { value.map { String(format: "%.3f", Double($0)) } ?? "" }
        func emotion(_ estimate: EmotionEstimate?) {
            guard let estimate else { return }
            fields[4] = estimate.top
            fields[5] = number(estimate.probability(of: estimate.top))
        }
        switch try? ServerMessage(line: event.line) {
        case .utterance(let e):
            emotion(e.emotion)
            fields[6] = number(e.valence)
            fields[7] = number(e.arousal)
            fields[8] = number(e.emotion?.confidence)
            fields[9] = String(format: "%.3f", e.start)
            fields[10] = String(format: "%.3f", e.end)
            fields[11] = String(e.latencyMilliseconds)
            fields[16] = e.speaker.map { String($0.track) } ?? ""
            fields[17] = e.speakerVisible.map { String($0) } ?? ""
        case .face(let e):
            emotion(e.emotion)
            fields[6] = number(e.valence)
            fields[7] = number(e.arousal)
            fields[12] = String(e.faces)
        case .status(let e):
            fields[13] = e.source
            fields[14] = e.state.rawValue
            fields[15] = e.detail
        default:
            break
        }
        return fields.map(quoted).joined(separator: ",")
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
