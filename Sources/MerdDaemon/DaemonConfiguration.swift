import EventHistory
import Foundation
import NeuralKit
import StreamEngine
import TOMLKit

/// `merd run`'s settings: the TOML file (`/etc/merd/merd.toml` or `--config`), then the
/// command-line flags over it. Every key is checked; a wrong one is an error that names the
/// key, the value found and what is allowed (systemd/merd.toml documents each).
public struct DaemonConfiguration: Equatable, Sendable {
    /// `alsa:NAME`, a media file, or nil for no microphone.
    public var audio: SourceSpec? = .alsa(device: "default")
    /// `/dev/videoN`, a media file, or nil for no camera.
    public var video: SourceSpec? = .camera(path: "/dev/video0")
    /// A recording replayed in real time as both sources (overrides audio and video).
    public var input: String?
    public var models: String?
    public var layers = [18, 19, 20]
    public var socketPath = "/run/merd/events.sock"
    public var socketMode: mode_t = 0o660
    public var queueSize = 1024
    public var sendBufferBytes: Int?
    public var faceFramesPerSecond = 10.0
    public var faceEventSeconds = 1.0
    /// `engine.max_faces`: faces followed and analysed per frame, the largest first.
    public var maximumFaces = 4
    /// `engine.face_track_seconds`: how long a face may be out of view and keep its track id.
    public var faceTrackSeconds = FaceTracker.Parameters().absenceSeconds
    /// `engine.require_visible_speaker`: leave out utterances no visible face spoke.
    public var requireVisibleSpeaker = false
    /// `engine.visual_gate`: split the subject's speech from a background talker's where the
    /// visible lips start or stop moving (``VisualGate``).
    public var visualGate = true
    public var videoWaitMilliseconds = 500
    /// `engine.speculate_after_ms`: a pause this long starts an utterance's last HuBERT window
    /// before the segmenter confirms the end. 0 (the default) is the lowest latency; a longer
    /// wait runs fewer last windows that speech then withdraws, so less CPU, for later events
    /// on CPUs whose last window outlasts the rest of the hangover (docs/operations.md,
    /// "Latency"); at or past the hangover there is no speculation.
    public var speculateAfterMilliseconds = EngineConfiguration().speculateAfterPauseMilliseconds ?? 0
    public var speechWindowSeconds = HuBERTWindowing.defaultWindowSeconds
    public var speechOverlapSeconds = HuBERTWindowing.defaultOverlapSeconds
    /// `engine.speech_detector`, or nil: Silero VAD when installed, else the energy detector.
    public var speechDetector: SpeechDetectorKind?
    /// `engine.speech_threshold`: Silero VAD's probability that starts speech (it continues
    /// 0.15 below).
    public var speechThreshold = SegmenterParameters().speechThreshold
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    public var videoWidth = 640
    public var videoHeight = 480
    public var videoFramesPerSecond = 30
    public var logLevel = "info"
    /// `compute.backend`, or nil for the process's default (`MERD_COMPUTE`, else oneDNN).
    public var computeBackend: ComputeBackend?
    /// `compute.precision`, or nil for the process's default (F32).
    public var computePrecision: ComputePrecision?
    /// `history.path`: nil for the default place (``HistoryLocation``), "" for no history.
    public var historyPath: String?
    /// `history.keep_days`, `history.max_mb`.
    public var historyRetention = HistoryRetention()
    /// `metrics.textfile`: where the metrics are also written for node_exporter's textfile
    /// collector (a `.prom` file), or nil.
    public var metricsTextfile: String?
    /// `metrics.textfile_seconds`: how often that file is rewritten.
    public var metricsTextfileSeconds = 15.0

    public init() {}

    public static let defaultPath = "/etc/merd/merd.toml"
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// An error in the configuration file, naming the key, the value and what is allowed.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        let file: String
        let key: String
        let found: String
        let allowed: String

        public var description: String { "\(file): \(key) = \(found) is not valid; \(allowed)" }
    }

    /// The file's settings over the defaults. A missing file at the default path is no error
    /// (the defaults stand); a missing file given with --config is.
    public static func load(path: String, required: Bool) throws -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw Problem(file: path, key: "(file)", found: "missing", allowed: "give an existing TOML file") }
            return configuration
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Problem(file: path, key: "(file)", found: "unreadable", allowed: "it must be a readable UTF-8 file (\(error.localizedDescription))")
        }
        try configuration.apply(text, file: path)
        return configuration
    }

    /// Applies a TOML document's keys.
    public mutating func apply(_ text: String, file: String) throws {
        if let (line, column, problem) = Self.unreportableSyntax(in: text) {
            throw Problem(file: file, key: "(syntax)", found: "line \(line), column \(column)", allowed: "the file must be TOML (\(problem))")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Problem(file: file, key: "(syntax)", found: "line \(error.source.begin.line), column \(error.source.begin.column)",
                          allowed: "the file must be TOML (\(error.description))")
        }
        let sections: [String: [String]] = [
            "sources": ["audio", "video", "input"],
            "models": ["directory", "layers"],
            "socket": ["path", "mode", "allow_others", "queue", "send_buffer"],
            "engine": ["face_fps", "face_event_seconds", "video_wait_ms", "speculate_after_ms", "threads", "speech_window_seconds", "speech_overlap_seconds",
                       "speech_detector", "speech_threshold", "max_faces", "face_track_seconds", "require_visible_speaker", "visual_gate"],
            "video": ["width", "height", "fps"],
            "compute": ["backend", "precision"],
            "history": ["path", "keep_days", "max_mb"],
            "metrics": ["textfile", "textfile_seconds"],
            "log": ["level"],
        ]
        for key in table.keys.sorted() {
            guard let allowed = sections[key] else {
                throw Problem(file: file, key: key, found: "a section or key", allowed: "sections are \(sections.keys.sorted().joined(separator: ", "))")
            }
            guard let section = table[key]?.table else {
                throw Problem(file: file, key: key, found: String(describing: table[key]!), allowed: "[\(key)] must be a table")
            }
            for inner in section.keys.sorted() where !allowed.contains(inner) {
                throw Problem(file: file, key: "\(key).\(inner)", found: "an unknown key", allowed: "[\(key)] takes \(allowed.joined(separator: ", "))")
            }
            let reader = Reader(file: file, section: key, table: section)
            switch key {
            case "sources":
                if let value = try reader.string("audio") { audio = try Self.source(value, key: "sources.audio", file: file, parse: SourceSpec.audio) }
                if let value = try reader.string("video") { video = try Self.source(value, key: "sources.video", file: file, parse: SourceSpec.video) }
                if let value = try reader.string("input") { input = value.isEmpty ? nil : value }
            case "models":
                if let value = try reader.string("directory") { models = value }
                if let value = try reader.integers("layers", range: Self.layerRange) { layers = value }
            case "socket":
                if let value = try reader.string("path") { socketPath = try Self.check(file: file, key: "socket.path") { () throws(Invalid) in try Self.socketPath(value) } }
                let allowOthers = try reader.boolean("allow_others") ?? false
                if let value = try reader.string("mode") {
                    socketMode = try Self.check(file: file, key: "socket.mode") { () throws(Invalid) in try Self.socketMode(value, allowOthers: allowOthers) }
                }
                if let value = try reader.integer("queue", range: Self.queueSizes) { queueSize = value }
                if let value = try reader.integer("send_buffer", range: 1024...16_777_216) { sendBufferBytes = value }
            case "engine":
                if let value = try reader.number("face_fps", range: 0.5...60) { faceFramesPerSecond = value }
                if let value = try reader.number("face_event_seconds", range: 0.1...3600) { faceEventSeconds = value }
                if let value = try reader.integer("max_faces", range: 1...16) { maximumFaces = value }
                if let value = try reader.number("face_track_seconds", range: 0.1...600) { faceTrackSeconds = value }
                if let value = try reader.boolean("require_visible_speaker") { requireVisibleSpeaker = value }
                if let value = try reader.boolean("visual_gate") { visualGate = value }
                if let value = try reader.integer("video_wait_ms", range: 0...10_000) { videoWaitMilliseconds = value }
                if let value = try reader.integer("speculate_after_ms", range: 0...10_000) { speculateAfterMilliseconds = value }
                if let value = try reader.integer("threads", range: 1...256) { threads = value }
                if let value = try reader.number("speech_window_seconds", range: 0.5...30) { speechWindowSeconds = value }
                if let value = try reader.number("speech_overlap_seconds", range: 0...29) { speechOverlapSeconds = value }
                if let value = try reader.string("speech_detector") {
                    speechDetector = try Self.check(file: file, key: "engine.speech_detector") { () throws(Invalid) in try Self.speechDetector(value) }
                }
                if let value = try reader.number("speech_threshold", range: Self.speechThresholds) { speechThreshold = value }
                guard speechOverlapSeconds < speechWindowSeconds else {
                    throw Problem(file: file, key: "engine.speech_overlap_seconds", found: String(speechOverlapSeconds),
                                  allowed: "it must be less than engine.speech_window_seconds (\(speechWindowSeconds))")
                }
            case "compute":
                if let value = try reader.string("backend") {
                    computeBackend = try Self.check(file: file, key: "compute.backend") { () throws(Invalid) in try Self.computeBackend(value) }
                }
                if let value = try reader.string("precision") {
                    computePrecision = try Self.check(file: file, key: "compute.precision") { () throws(Invalid) in try Self.computePrecision(value) }
                }
                _ = try Self.check(file: file, key: "compute.precision") { () throws(Invalid) in try compute(over: .openBLAS) }
            case "history":
                if let value = try reader.string("path") {
                    historyPath = try Self.check(file: file, key: "history.path") { () throws(Invalid) in try Self.historyPath(value) }
                }
                if let value = try reader.number("keep_days", range: Self.keepDays) { historyRetention.keepDays = value }
                if let value = try reader.integer("max_mb", range: Self.historyMegabytes) { historyRetention.maxBytes = value << 20 }
            case "metrics":
                if let value = try reader.string("textfile") {
                    metricsTextfile = try Self.check(file: file, key: "metrics.textfile") { () throws(Invalid) in try Self.metricsTextfile(value) }
                }
                if let value = try reader.number("textfile_seconds", range: 1...3600) { metricsTextfileSeconds = value }
            case "video":
                if let value = try reader.integer("width", range: 16...8192) { videoWidth = value }
                if let value = try reader.integer("height", range: 16...8192) { videoHeight = value }
                if let value = try reader.integer("fps", range: 1...240) { videoFramesPerSecond = value }
            default:  // log
                if let value = try reader.string("level") {
                    guard Self.logLevels.contains(value) else {
                        throw Problem(file: file, key: "log.level", found: "\"\(value)\"", allowed: "one of \(Self.logLevels.joined(separator: ", "))")
                    }
                    logLevel = value
                }
            }
        }
    }

    /// Syntax errors toml++ 3.4 (inside TOMLKit) asserts on instead of reporting — an abort in
    /// a debug build, undefined behaviour in a release one — found by scripts/fuzz: a table
    /// name starting with a character TOML does not allow there (`[?a]`, `[` at the end of a
    /// line), and a `}` where an array expects an element (`[1, }]`). Found here first, with
    /// their line and column, so such a file gets the same one-line error as any other. Strings
    /// (multi-line ones included), comments and nested arrays and inline tables are followed as
    /// TOML has them.
    static func unreportableSyntax(in text: String) -> (line: Int, column: Int, problem: String)? {
        enum State { case normal, comment, basic, literal, multilineBasic, multilineLiteral }
        let scalars = Array(text.unicodeScalars)
        var state = State.normal
        var line = 1, lineStart = 0, blankSoFar = true
        /// `[` and `{` opened in values, innermost last; whether an array element comes next.
        var brackets: [Unicode.Scalar] = []
        var expectingElement = false
        var index = 0
        func at(_ offset: Int) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }
        func triple(_ quote: Unicode.Scalar) -> Bool { at(0) == quote && at(1) == quote && at(2) == quote }
        while index < scalars.count {
            let c = scalars[index]
            if c == "\n" {
                line += 1
                lineStart = index + 1
                blankSoFar = true
                if state != .multilineBasic && state != .multilineLiteral { state = .normal }
                index += 1
                continue
            }
            switch state {
            case .normal:
                let isSpace = c == " " || c == "\t" || c == "\r"
                if expectingElement && c == "}" {
                    return (line, index - lineStart + 1, "an array element cannot start with '}'")
                }
                if !isSpace && c != "#" { expectingElement = false }
                if c == "[" && blankSoFar && brackets.isEmpty {
                    // A table header: its name must start with a key character or a quote.
                    var cursor = index + 1
                    func skipSpace() { while cursor < scalars.count, scalars[cursor] == " " || scalars[cursor] == "\t" { cursor += 1 } }
                    skipSpace()
                    if cursor < scalars.count, scalars[cursor] == "[" { cursor += 1 }  // [[array of tables]]
                    skipSpace()
                    let next = cursor < scalars.count ? scalars[cursor] : nil
                    let allowed = next.map { c in
                        c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "_-\"']".unicodeScalars.contains(c))
                    } ?? false
                    if !allowed { return (line, cursor - lineStart + 1, "a [table] name starts with a letter, digit, _, - or a quote") }
                    // Its name and closing brackets are read as keys are: nothing pushed.
                } else if c == "[" {
                    brackets.append("[")
                    expectingElement = true
                } else if c == "{" {
                    brackets.append("{")
                } else if c == "]" || c == "}" {
                    if brackets.last == (c == "]" ? "[" : "{") { brackets.removeLast() }
                } else if c == "," && brackets.last == "[" {
                    expectingElement = true
                } else if c == "#" {
                    state = .comment
                } else if triple("\"") {
                    state = .multilineBasic
                    index += 2
                } else if triple("'") {
                    state = .multilineLiteral
                    index += 2
                } else if c == "\"" {
                    state = .basic
                } else if c == "'" {
                    state = .literal
                }
            case .comment:
                break
            case .basic:
                if c == "\\" && at(1) != "\n" { index += 1 } else if c == "\"" { state = .normal }
            case .literal:
                if c == "'" { state = .normal }
            case .multilineBasic:
                if c == "\\" && at(1) != "\n" { index += 1 } else if triple("\"") { state = .normal; index += 2 }
            case .multilineLiteral:
                if triple("'") { state = .normal; index += 2 }
            }
            if c != " " && c != "\t" { blankSoFar = false }
            index += 1
        }
        return nil
    }

    // MARK: Checks shared by the file and the flags

    /// Why one setting's value is not valid, whichever way it was given.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let found: String
        public let allowed: String
        public var description: String { "\(found) is not valid; \(allowed)" }
    }

    /// Hidden states a layer setting may name (HuBERT-large has 0…24; 48 leaves room for
    /// larger encoders).
    public static let layerRange = 0...48
    public static let queueSizes = 1...1_000_000

    /// `socket.path` / `--socket`: an absolute path that fits a `sockaddr_un`. Not empty: an
    /// empty name would make an abstract socket, which file permissions cannot protect.
    public static func socketPath(_ value: String) throws(Invalid) -> String {
        guard value.hasPrefix("/"), value.utf8.count < 108 else {
            throw Invalid(found: "\"\(value)\"", allowed: "the socket must be an absolute path of under 108 bytes (file permissions protect it; merd makes no abstract sockets)")
        }
        return value
    }

    /// `socket.mode`: octal, letting the owner read and write; other users' access (o+w, which
    /// lets any local user connect) only with `socket.allow_others = true`.
    public static func socketMode(_ value: String, allowOthers: Bool) throws(Invalid) -> mode_t {
        guard let mode = mode_t(value, radix: 8), mode <= 0o777, mode & 0o600 == 0o600 else {
            throw Invalid(found: "\"\(value)\"", allowed: "an octal mode such as \"0660\" that lets the owner read and write")
        }
        guard allowOthers || mode & 0o002 == 0 else {
            throw Invalid(found: "\"\(value)\"", allowed: "it lets every local user connect; use the merd group (\"0660\"), or set socket.allow_others = true to mean it")
        }
        return mode
    }

    /// `models.layers` / `--layers`: distinct hidden-state indices in ``layerRange``.
    public static func layers(_ values: [Int]) throws(Invalid) -> [Int] {
        guard !values.isEmpty, values.allSatisfy(layerRange.contains), Set(values).count == values.count else {
            throw Invalid(found: values.map(String.init).joined(separator: ","),
                          allowed: "layers are distinct whole numbers in \(layerRange.lowerBound)…\(layerRange.upperBound)")
        }
        return values
    }

    /// `socket.queue` / `--queue-size`.
    public static func queueSize(_ value: Int) throws(Invalid) -> Int {
        guard queueSizes.contains(value) else {
            throw Invalid(found: String(value), allowed: "it must be a whole number in \(queueSizes.lowerBound)…\(queueSizes.upperBound)")
        }
        return value
    }

    /// `history.keep_days`: from a quarter of an hour to a hundred years.
    public static let keepDays = 0.01...36_500.0
    /// `history.max_mb`: at least 1 MiB (the write-ahead log takes a quarter of it).
    public static let historyMegabytes = 1...1_000_000

    /// `history.path` / `--history`: an absolute path, or "" / "none" for no history.
    public static func historyPath(_ value: String) throws(Invalid) -> String {
        if value.isEmpty || value == "none" { return "" }
        guard value.hasPrefix("/"), !value.hasSuffix("/") else {
            throw Invalid(found: "\"\(value)\"", allowed: "the history must be an absolute path of a file (e.g. \"/var/lib/merd/history.sqlite\"), or \"\" to keep none")
        }
        return value
    }

    /// `metrics.textfile`: an absolute path ending in `.prom` (node_exporter's textfile
    /// collector reads only those), or "" for none.
    public static func metricsTextfile(_ value: String) throws(Invalid) -> String? {
        if value.isEmpty { return nil }
        guard value.hasPrefix("/"), value.hasSuffix(".prom") else {
            throw Invalid(found: "\"\(value)\"", allowed: "an absolute path ending in .prom, in node_exporter's --collector.textfile.directory (e.g. \"/var/lib/prometheus/node-exporter/merd.prom\")")
        }
        return value
    }

    /// `compute.backend` / `--backend`.
    public static func computeBackend(_ value: String) throws(Invalid) -> ComputeBackend {
        guard let backend = ComputeBackend(rawValue: value) else {
            throw Invalid(found: "\"\(value)\"", allowed: "it must be one of \(ComputeBackend.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return backend
    }

    /// `engine.speech_detector` / `--speech-detector`.
    public static func speechDetector(_ value: String) throws(Invalid) -> SpeechDetectorKind {
        guard let kind = SpeechDetectorKind(rawValue: value) else {
            throw Invalid(found: "\"\(value)\"", allowed: "it must be one of \(SpeechDetectorKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return kind
    }

    /// `engine.speech_threshold`: a probability clear of both ends (0 or 1 would call every
    /// chunk speech or none).
    public static let speechThresholds = 0.05...0.95

    /// The segmenter's parameters these settings give.
    public var segmenter: SegmenterParameters {
        var parameters = SegmenterParameters()
        parameters.speechThreshold = speechThreshold
        parameters.continueThreshold = max(0.01, speechThreshold - 0.15)
        if !visualGate { parameters.visualGate = nil }
        return parameters
    }

    /// The live engine's configuration these settings give (the daemon's; sources, models
    /// and compute are set up apart).
    public var engine: EngineConfiguration {
        var engine = EngineConfiguration()
        engine.layers = layers
        engine.segmenter = segmenter
        engine.liveClock = true
        engine.faceFramesPerSecond = faceFramesPerSecond
        engine.faceEventSeconds = faceEventSeconds
        engine.facePipeline.maximumFaces = maximumFaces
        engine.facePipeline.tracks.absenceSeconds = faceTrackSeconds
        engine.requireVisibleSpeaker = requireVisibleSpeaker
        engine.videoWaitMilliseconds = videoWaitMilliseconds
        engine.speculateAfterPauseMilliseconds = speculateAfterMilliseconds
        engine.windowing = HuBERTWindowing(windowSeconds: speechWindowSeconds, overlapSeconds: speechOverlapSeconds)
        return engine
    }

    /// `compute.precision` / `--precision`.
    public static func computePrecision(_ value: String) throws(Invalid) -> ComputePrecision {
        guard let precision = ComputePrecision(rawValue: value) else {
            throw Invalid(found: "\"\(value)\"", allowed: "it must be one of \(ComputePrecision.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return precision
    }

    /// The compute choice these settings make over `base` (the process's default): a key
    /// left out keeps `base`'s value, except that BF16 alone implies oneDNN, the only
    /// backend that has it. BF16 named together with OpenBLAS is an error.
    public func compute(over base: Compute) throws(Invalid) -> Compute {
        let precision = computePrecision ?? (computeBackend == .openBLAS ? .f32 : base.precision)
        let backend = computeBackend ?? (precision == .bf16 ? .oneDNN : base.backend)
        if precision == .bf16 && backend == .openBLAS {
            throw Invalid(found: "\"bf16\" with backend \"openblas\"", allowed: "BF16 runs on oneDNN only: set backend \"onednn\" or precision \"f32\"")
        }
        return Compute(backend: backend, precision: precision)
    }

    /// A file key's check, its failure as a ``Problem`` naming the file and key.
    static func check<Value>(file: String, key: String, _ body: () throws(Invalid) -> Value) throws(Problem) -> Value {
        do { return try body() } catch { throw Problem(file: file, key: key, found: error.found, allowed: error.allowed) }
    }

    /// A source setting, parsed as `SourceSpec` parses flags: "none" (or "") turns the
    /// source off.
    static func source(_ value: String, key: String, file: String,
                       parse: (String) throws(SourceSpec.Invalid) -> SourceSpec?) throws(Problem) -> SourceSpec? {
        do { return try parse(value) } catch {
            throw Problem(file: file, key: key, found: "\"\(value)\"", allowed: error.allowed)
        }
    }

    /// Typed reads of one section's keys.
    public struct Reader {
        let file: String
        let section: String
        let table: TOMLTable

        private func problem(_ key: String, _ allowed: String) -> Problem {
            Problem(file: file, key: "\(section).\(key)", found: table[key].map { String(describing: $0) } ?? "nothing", allowed: allowed)
        }

        func string(_ key: String) throws -> String? {
            guard let value = table[key] else { return nil }
            guard let string = value.string else { throw problem(key, "it must be a string in quotes") }
            return string
        }

        func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
            guard let value = table[key] else { return nil }
            guard let number = value.int, range.contains(number) else { throw problem(key, "it must be a whole number in \(range.lowerBound)…\(range.upperBound)") }
            return number
        }

        func boolean(_ key: String) throws -> Bool? {
            guard let value = table[key] else { return nil }
            guard let flag = value.bool else { throw problem(key, "it must be true or false") }
            return flag
        }

        func number(_ key: String, range: ClosedRange<Double>) throws -> Double? {
            guard let value = table[key] else { return nil }
            let number = value.double ?? value.int.map(Double.init)
            guard let number, range.contains(number) else { throw problem(key, "it must be a number in \(range.lowerBound)…\(range.upperBound)") }
            return number
        }

        func integers(_ key: String, range: ClosedRange<Int>) throws -> [Int]? {
            guard let value = table[key] else { return nil }
            guard let array = value.array else { throw problem(key, "it must be a list of whole numbers, e.g. [18, 19, 20]") }
            let numbers = array.map { $0.int }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0.map(range.contains) == true }) else {
                throw problem(key, "it must be a non-empty list of whole numbers in \(range.lowerBound)…\(range.upperBound)")
            }
            return numbers.map { $0! }
        }
    }
}
