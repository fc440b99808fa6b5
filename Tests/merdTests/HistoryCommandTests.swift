import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The history and the metrics as a user meets them: `merd run` twice on one history, a
/// subscriber resuming across the restart, `merd history` and `merd metrics`, and Prometheus'
/// own linter (`promtool`, Debian's `prometheus`) on what merd exposes.
@Suite("merd history and merd metrics, end to end", .serialized)
struct HistoryCommandTests {
    let folder = NSTemporaryDirectory() + "merd-history-e2e-\(UUID().uuidString.prefix(8))"
    let clip = TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg")

    /// `merd run` replaying the clip on `history`, ready (its socket listens) when this returns.
    func daemon(history: String, socket: String, models: String, config: String) throws -> Process {
        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--config", config, "--input", clip, "--socket", socket, "--models", models, "--history", history]
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<1000 where !FileManager.default.fileExists(atPath: socket) && process.isRunning { usleep(10_000) }
        return process
    }

    /// Reads `client` until both sources (or the audio alone, without the face models) have
    /// said `stopped` after seq `after` (a replay brings the earlier run's): the clip is over.
    static func readToEnd(_ client: TestSubscriber, into seqs: inout [Int], runs: inout Set<String>, after: Int = 0) {
        var stopped = Set<String>()
        let expected: Set<String> = DaemonModels.pretrained == nil ? ["audio"] : ["audio", "video"]
        while stopped != expected, let event = client.object(timeout: 10) {
            if let run = event["run"] as? String { runs.insert(run) }
            if let seq = event["seq"] as? Int { seqs.append(seq) }
            if event["type"] as? String == "status", event["state"] as? String == "stopped", event["seq"] as? Int ?? 0 > after {
                stopped.insert(event["source"] as? String ?? "")
            }
        }
    }

    static func stop(_ process: Process) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    @Test("a subscriber that left mid-stream resumes with since across a daemon restart: every seq once, seq continuing, a new run id; merd history reads them all")
    func resumeAcrossRestart() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let models = try DaemonModels.make()
        defer { for path in [folder, models] { try? FileManager.default.removeItem(atPath: path) } }
        let (history, socket, config) = (folder + "/history.sqlite", folder + "/events.sock", folder + "/merd.toml")
        try "[models]\nlayers = [2, 3]\n[engine]\nface_event_seconds = 0.5\n".write(toFile: config, atomically: true, encoding: .utf8)

        // Run 1: the subscriber reads three events and goes away.
        let first = try daemon(history: history, socket: socket, models: models, config: config)
        // Stopped below; this is for a failure before then, which would otherwise leave the
        // daemon holding the test runner's output open and the run hanging.
        defer { if first.isRunning { Self.stop(first) } }
        var seqs: [Int] = []
        var runs = Set<String>()
        do {
            let client = try TestSubscriber(path: socket)
            client.send(#"{"since":0}"#)
            while seqs.count < 3, let event = client.object(timeout: 10) {
                if let run = event["run"] as? String { runs.insert(run) }
                if let seq = event["seq"] as? Int { seqs.append(seq) }
            }
        }
        // Another daemon on the same history is refused, naming the reason.
        let second = try MerdProcess.run(["run", "--audio", "none", "--video", "none", "--socket", folder + "/other.sock", "--history", history])
        #expect(second.status == 2 && second.stderr.contains("another merd is writing this history"), "\(second.stderr)")
        // The first run plays the clip to its end, unwatched, and stops.
        do {
            let watcher = try TestSubscriber(path: socket)
            var ignored: [Int] = []
            var ignoredRuns = Set<String>()
            Self.readToEnd(watcher, into: &ignored, runs: &ignoredRuns)
        }
        Self.stop(first)
        let firstRunLast = try #require(Int(try MerdProcess.run(["history", "--history", history, "--json"]).stdout
            .split(separator: "\n").last.flatMap { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["seq"] as? Int
            }.map(String.init) ?? ""))
        #expect(firstRunLast > seqs.count, "run 1 emitted more than the subscriber read: \(firstRunLast)")

        // Run 2: the subscriber resumes after what it read.
        let restarted = try daemon(history: history, socket: socket, models: models, config: config)
        defer { if restarted.isRunning { Self.stop(restarted) } }
        let client = try TestSubscriber(path: socket)
        client.send(#"{"since":\#(seqs.max() ?? 0)}"#)
        Self.readToEnd(client, into: &seqs, runs: &runs, after: firstRunLast)
        let counts = Dictionary(seqs.map { ($0, 1) }, uniquingKeysWith: +)
        let last = seqs.max() ?? 0
        #expect(last > firstRunLast + 3, "run 2 numbered on after run 1's \(firstRunLast): \(seqs)")
        #expect(Set(seqs) == Set(1...last), "no gap: \(seqs)")
        #expect(counts.values.allSatisfy { $0 == 1 }, "none twice: \(seqs)")
        #expect(runs.count == 2, "hello.run differs between the runs: \(runs)")

        // The metrics, while run 2 serves: Prometheus' linter passes them, and they add up.
        let scrape = try MerdProcess.run(["metrics", "--socket", socket])
        #expect(scrape.status == 0, "\(scrape.stderr)")
        #expect(try Self.promtool(scrape.stdout), "promtool check metrics")
        let samples = try PrometheusText.parse(scrape.stdout)
        let run2Utterances = try MerdProcess.run(["history", "--history", history, "--since", String(firstRunLast), "--types", "utterance", "--json"])
            .stdout.split(separator: "\n").count
        #expect(samples[#"merd_events_total{type="utterance"}"#] == Double(run2Utterances) && run2Utterances >= 1, "\(samples.filter { $0.key.hasPrefix("merd_events") })")
        #expect(samples["merd_utterance_latency_seconds_count"] == Double(run2Utterances))
        #expect((samples["merd_utterance_latency_seconds_sum"] ?? 0) > 0)
        // The engine's share of each of those latencies, and no more than the whole.
        #expect(samples["merd_utterance_finish_seconds_count"] == Double(run2Utterances))
        #expect((samples["merd_utterance_finish_seconds_sum"] ?? 0) > 0
                && (samples["merd_utterance_finish_seconds_sum"] ?? 0) <= (samples["merd_utterance_latency_seconds_sum"] ?? 0))
        #expect((samples["merd_subscribers"] ?? 0) >= 1, "the asking client counts")
        if DaemonModels.pretrained != nil {
            let analysed = samples["merd_video_frames_analysed_total"] ?? 0
            #expect(analysed > 10 && analysed <= (samples["merd_video_frames_total"] ?? 0), "\(analysed)")
            #expect(samples[#"merd_inference_seconds_count{stage="face"}"#] == analysed)
        }
        #expect((samples[#"merd_inference_seconds_count{stage="speech_finish"}"#] ?? 0) >= Double(run2Utterances))
        Self.stop(restarted)

        // merd history: every event of both runs, in order; the filters; CSV.
        let all = try MerdProcess.run(["history", "--history", history, "--json"])
        let stored = all.stdout.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["seq"] as? Int
        }
        #expect(stored == Array(1...stored.count) && stored.count >= last, "\(stored)")
        let csv = try MerdProcess.run(["history", "--history", history, "--csv", "--types", "utterance"])
        let rows = csv.stdout.split(separator: "\n")
        #expect(rows.first?.hasPrefix("seq,time,run,type,label,") == true && rows.dropFirst().allSatisfy { $0.contains(",utterance,") })
        // Columns only ever added at the end (who spoke: the last two); every row as wide as the header.
        #expect(rows.first?.hasSuffix(",detail,speaker,speaker_visible") == true)
        #expect(rows.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 18 }, "\(rows)")
        #expect(rows.count - 1 == run2Utterances * 2, "one utterance a run: \(rows)")
        let readable = try MerdProcess.run(["history", "--history", history, "--since", String(last - 1)])
        #expect(readable.stdout.split(separator: "\n").count == stored.count - (last - 1) && readable.stdout.contains("#\(last)  "), "\(readable.stdout)")
        let future = try MerdProcess.run(["history", "--history", history, "--from", "2100-01-01"])
        #expect(future.status == 0 && future.stdout.isEmpty)
    }

    @Test("the metrics textfile for node_exporter: kept current every period, linted clean, readable by the collector")
    func textfile() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let models = try DaemonModels.make()
        defer { for path in [folder, models] { try? FileManager.default.removeItem(atPath: path) } }
        let (socket, config, textfile) = (folder + "/events.sock", folder + "/merd.toml", folder + "/merd.prom")
        try "[models]\nlayers = [2, 3]\n[metrics]\ntextfile = \"\(textfile)\"\ntextfile_seconds = 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let process = try daemon(history: "none", socket: socket, models: models, config: config)
        defer { if process.isRunning { Self.stop(process) } }
        let client = try TestSubscriber(path: socket)
        var seqs: [Int] = []
        var runs = Set<String>()
        Self.readToEnd(client, into: &seqs, runs: &runs)
        #expect(runs.count == 1, "hello.run, also without a history")
        sleep(2)  // a period after the clip's last event
        let text = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(try Self.promtool(text))
        let samples = try PrometheusText.parse(text)
        #expect(samples[#"merd_events_total{type="utterance"}"#] == 1, "\(samples.filter { $0.key.hasPrefix("merd_events") })")
        var status = stat()
        #expect(stat(textfile, &status) == 0 && status.st_mode & 0o777 == 0o644, "readable by node_exporter's user")
        // Without a history, since is refused with the reason.
        let resuming = try TestSubscriber(path: socket)
        _ = resuming.line()
        resuming.send(#"{"since":0}"#)
        var reply: [String: Any]?
        while let object = resuming.object(timeout: 2) {
            if object["type"] as? String == "error" { reply = object; break }
        }
        #expect((reply?["message"] as? String)?.contains("needs the history") == true)
    }

    @Test("merd history: bad flags exit 2 with one line; a missing or foreign file exits 1 and says why")
    func badHistoryCommands() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let notes = folder + "/notes.sqlite"
        try "not a database".write(toFile: notes, atomically: true, encoding: .utf8)
        for (arguments, status, needle) in [
            (["--history", notes, "--json", "--csv"], Int32(2), "choose one"),
            (["--history", notes, "--from", "yesterday"], 2, "--from takes an RFC 3339 time"),
            (["--history", notes, "--types", "faces"], 2, "--types takes event types"),
            (["--history", notes, "--since", "5", "--from", "2026-01-01"], 2, "choose one"),
            (["--history", notes, "--from", "2026-02-01", "--until", "2026-01-01"], 2, "--until must come after --from"),
            (["--history", folder + "/none.sqlite"], 1, "no such file"),
            (["--history", notes], 1, "not a readable merd history"),
        ] {
            let result = try MerdProcess.run(["history"] + arguments)
            #expect(result.status == status && result.stderr.contains(needle) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        let unreachable = try MerdProcess.run(["metrics", "--socket", folder + "/none.sock"])
        #expect(unreachable.status == 1 && unreachable.stderr.contains("cannot connect"))
    }

    /// `promtool check metrics` (Prometheus' own parser and linter) on `text`.
    static func promtool(_ text: String) throws -> Bool {
        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 { Issue.record("promtool: \(said)") }
        return process.terminationStatus == 0
    }
}

/// Prometheus' text exposition format, read back: each sample line `name{labels} value` by its
/// series (name and labels exactly as written). A line that is neither a comment nor a sample
/// is an error, as is a sample of a family without a `# TYPE` line.
enum PrometheusText {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var families = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw Malformed(description: "bad TYPE line: \(line)")
                }
                families.insert(String(parts[2]))
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf")) else {
                throw Malformed(description: "no value: \(line)")
            }
            let series = String(line[..<space])
            let name = String(series.prefix { $0 != "{" })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) && families.contains(String($0.dropLast($1.count))) ? String($0.dropLast($1.count)) : $0 }
            guard families.contains(family) else { throw Malformed(description: "sample of an undeclared family: \(line)") }
            guard samples[series] == nil else { throw Malformed(description: "series twice: \(series)") }
            samples[series] = value
        }
        return samples
    }
}
