import Foundation
import Locking
import NeuralKit
import StreamEngine
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A models directory for the daemon: the tiny HuBERT fixture as `hubert-large`, and the
/// pretrained face models when this machine has them (`tools/fetch-default-models`).
enum DaemonModels {
    static let pretrained: String? = TestPaths.pretrainedModels

    static func make() throws -> String {
        let root = NSTemporaryDirectory() + "merd-daemon-models-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/hubert-large", withDestinationPath: TestPaths.fixture("hubert/large"))
        if let pretrained {
            for folder in ["mtcnn", "dlib-landmarks-68", "mini-xception-fer2013"] {
                try FileManager.default.createSymbolicLink(atPath: "\(root)/\(folder)", withDestinationPath: "\(pretrained)/\(folder)")
            }
        }
        return root
    }
}

/// A daemon's standard error as it comes, read on a thread of its own.
final class DaemonLog: @unchecked Sendable {
    private let received = Locked("")
    private let reader: Thread

    init(_ pipe: Pipe) {
        let received = received
        reader = Thread {
            let handle = pipe.fileHandleForReading
            while case let data = handle.availableData, !data.isEmpty { received.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        reader.start()
    }

    /// Everything logged so far.
    var text: String { received.withLock { $0 } }

    /// Returns once the daemon has closed its end (it has exited).
    func waitUntilClosed() {
        while !reader.isFinished { usleep(10_000) }
    }
}

@Suite("merd run, end to end", .serialized)
struct RunCommandTests {
    @Test("a GRID clip replayed live: READY, hello, status, face and utterance events in order to a reading subscriber, `dropped` to a stuck one when it reads again, watchdog, clean SIGTERM")
    func endToEnd() throws {
        let notify = try NotifySocket()
        let socketPath = NSTemporaryDirectory() + "merd-run-\(UUID().uuidString.prefix(8)).sock"
        let models = try DaemonModels.make()
        let config = NSTemporaryDirectory() + "merd-\(UUID().uuidString.prefix(8)).toml"
        // Frequent face events, a queue of 2 and a small kernel buffer: a subscriber that stops
        // reading overflows within the clip.
        try """
            [socket]
            queue = 2
            send_buffer = 4096
            [engine]
            face_event_seconds = 0.2
            [models]
            layers = [2, 3]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { for p in [models, config] { try? FileManager.default.removeItem(atPath: p) } }
        let process = Process()
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--config", config, "--input", TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg"), "--socket", socketPath,
                             "--models", models]
        process.environment = MerdProcess.environment(adding: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"])
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let ready = notify.messages(timeout: 10, until: "READY=1")
        #expect(ready.contains { $0.contains("READY=1") && $0.contains("STATUS=listening on \(socketPath)") }, "\(ready)")
        let stuck = try TestSubscriber(path: socketPath)  // connects, then does not read
        let reader = try TestSubscriber(path: socketPath)
        // It subscribes at once, as clients do (a silent one's events wait 200 ms for its line,
        // more than this queue of 2 holds).
        reader.send(#"{"subscribe":["utterance","face","status"]}"#)
        var events: [[String: Any]] = []
        var stopped = Set<String>()
        let expectedStops: Set<String> = DaemonModels.pretrained == nil ? ["audio"] : ["audio", "video"]
        while let event = reader.object(timeout: 6) {
            events.append(event)
            if event["type"] as? String == "status", event["state"] as? String == "stopped" { stopped.insert(event["source"] as? String ?? "") }
            if stopped == expectedStops { break }
        }
        let types = events.map { $0["type"] as? String ?? "?" }
        #expect(types.first == "hello" && types.dropFirst().first == "status" && types.contains("utterance") && types.last == "status", "\(types)")
        let seqs = events.dropFirst().compactMap { $0["seq"] as? Int }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "seq increases: \(seqs)")
        let hello = events[0]
        #expect((hello["labels"] as? [String])?.count == 6 && (hello["models"] as? [String: Any])?["audio"] as? String == "hubert-large")
        let u = try #require(events.first { $0["type"] as? String == "utterance" })
        #expect(abs((u["end"] as? Double ?? 0) - (u["start"] as? Double ?? 0) - 1.72) < 0.15, "about the aligned 0.49–2.21 s")
        let latency = u["latency_ms"] as? Int ?? -1
        #expect(latency >= 0 && latency < 1000, "latency from the end of speech, unaffected by the stuck subscriber: \(latency) ms")
        // No fusion model: the face model's own estimate when there is one, else null, never invented.
        let source = try #require(u["source"] as? [String: Any])
        if DaemonModels.pretrained != nil {
            #expect(u["emotion"] is [String: Any] && source["emotion"] as? String == "face:mini-xception-fer2013", "\(u)")
        } else {
            #expect(u["emotion"] is NSNull && source["emotion"] is NSNull)
        }
        #expect(u["valence"] is NSNull && source["valence"] is NSNull, "no model gives valence here")
        let modalities = try #require(u["modalities"] as? [String: Any])
        #expect(modalities["audio"] as? Bool == true)
        if DaemonModels.pretrained != nil {
            let faces = events.filter { $0["type"] as? String == "face" }
            #expect(faces.count >= 2, "face events while no one speaks: \(types)")
            for face in faces {
                #expect(face["faces"] as? Int == 1 && (face["box"] as? [Int])?.count == 4 && face["media_time"] is Double)
                let probs = (face["emotion"] as? [String: Any])?["probs"] as? [String: Double] ?? [:]
                #expect(probs.count == 6 && abs(probs.values.reduce(0, +) - 1) < 0.01)
            }
            #expect(modalities["face"] as? Bool == true && (modalities["face_frames"] as? Int ?? 0) > 5, "\(modalities)")
            // Face events stay between utterances, as far as the speech detector knows live: it
            // confirms an onset ~0.2 s into speech (the utterance's start reaches back before it).
            let (start, end) = (u["start"] as! Double, u["end"] as! Double)
            #expect(faces.allSatisfy { ($0["media_time"] as! Double) < start + 0.35 || ($0["media_time"] as! Double) > end }, "\(faces.map { $0["media_time"]! }) vs \(start)…\(end)")
        }
        // The stuck subscriber reads now: what its socket held, then a `dropped` notice, then the newest.
        var stuckTypes: [String] = []
        while let object = stuck.object(timeout: 0.5) { stuckTypes.append(object["type"] as? String ?? "?") }
        if DaemonModels.pretrained != nil {
            #expect(stuckTypes.contains("dropped"), "\(stuckTypes)")
        }
        #expect(stuckTypes.first == "hello")
        let watchdog = notify.messages(timeout: 1, until: "WATCHDOG=1")
        #expect(watchdog.contains("WATCHDOG=1"))
        _ = notify.messages(timeout: 0.2, until: "never")

        let stopping = Date()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(stopping) < 2, "SIGTERM ends it within 2 s")
        #expect(process.terminationStatus == 0)
        #expect(notify.messages(timeout: 1, until: "STOPPING=1").contains("STOPPING=1"))
        #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket file is removed")
    }

    @Test("SIGHUP, SIGUSR1 and SIGUSR2 are logged and the daemon runs on; SIGTERM while a client floods the socket still exits 0 within 2 s; the history is kept in $XDG_STATE_HOME/merd when not told where")
    func signals() throws {
        let socketPath = NSTemporaryDirectory() + "merd-signals-\(UUID().uuidString.prefix(8)).sock"
        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--socket", socketPath, "--audio", "none", "--video", "none", "--models", NSTemporaryDirectory() + "merd-none"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
        let log = DaemonLog(errors)
        // Until the signal service runs, these signals are ignored without a word (never fatal):
        // send SIGHUP until it is logged, then the others once each.
        for _ in 0..<100 where !log.text.contains("SIGHUP") {
            kill(process.processIdentifier, SIGHUP)
            usleep(20_000)
            #expect(process.isRunning, "SIGHUP must not end the daemon")
        }
        for signal in [SIGUSR1, SIGUSR2] {
            kill(process.processIdentifier, signal)
            usleep(100_000)
            #expect(process.isRunning, "signal \(signal) must not end the daemon")
        }
        let reader = try TestSubscriber(path: socketPath)
        #expect(reader.object()?["type"] as? String == "hello", "still serving")
        // A client writing as fast as it can, on its own thread, when SIGTERM comes.
        let flooder = try TestSubscriber(path: socketPath)
        let flooding = Thread {
            let chunk = Array(String(repeating: "{\"subscribe\": 1}\n", count: 200).utf8)
            while chunk.withUnsafeBytes({ send(flooder.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) > 0 {}
        }
        flooding.start()
        usleep(200_000)
        let stopping = Date()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(stopping) < 2, "SIGTERM during a flood ends it within 2 s")
        #expect(process.terminationStatus == 0 && process.terminationReason == .exit)
        log.waitUntilClosed()
        let logged = log.text
        #expect(logged.contains("SIGHUP") && logged.contains("SIGUSR1") && logged.contains("SIGUSR2"), "\(logged)")
        #expect(!FileManager.default.fileExists(atPath: socketPath))
        let history = MerdProcess.stateHome + "/merd/history.sqlite"
        #expect(FileManager.default.fileExists(atPath: history), "\(history) (HistoryLocation's default under XDG_STATE_HOME)")
    }

    @Test("SIGHUP reloads the fusion model: subscribers get a `fusion` status, later ones a hello naming it; a missing, damaged or unusable model is refused with the reason, and the running one decodes on")
    func reloadFusion() throws {
        let socketPath = NSTemporaryDirectory() + "merd-reload-\(UUID().uuidString.prefix(8)).sock"
        let models = try DaemonModels.make()
        let config = NSTemporaryDirectory() + "merd-\(UUID().uuidString.prefix(8)).toml"
        try "[models]\nlayers = [2, 3]\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { for p in [models, config] { try? FileManager.default.removeItem(atPath: p) } }
        let fusionPath = models + "/fusion"
        /// Puts a fresh model over `inputs` (the tiny HuBERT's width) where the daemon reloads from.
        func install(_ layers: [Int]) throws -> String {
            let made = try AnalyzeCommandTests.fusionModel(layers.map { FusionInput(name: "HL\($0)", size: 32) }, digested: true)
            try? FileManager.default.removeItem(atPath: fusionPath)
            try FileManager.default.moveItem(atPath: made, toPath: fusionPath)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fusionPath + "/model.json"))) as? [String: Any]
            return try #require((manifest?["files"] as? [[String: Any]])?.first?["sha256"] as? String)
        }

        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--config", config, "--socket", socketPath, "--audio", "none", "--video", "none", "--models", models]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        for _ in 0..<1000 where !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
        let log = DaemonLog(errors)
        /// Sends SIGHUP until the daemon logs its answer (the signal service may not run yet),
        /// and returns that answer.
        func hangUp() -> String {
            let before = log.text.components(separatedBy: "SIGHUP:").count
            for _ in 0..<250 {
                if log.text.components(separatedBy: "SIGHUP:").count > before { break }
                kill(process.processIdentifier, SIGHUP)
                usleep(20_000)
            }
            usleep(20_000)
            return log.text.components(separatedBy: "SIGHUP:").dropFirst(before).joined()
        }
        func hello() throws -> [String: Any] {
            let subscriber = try TestSubscriber(path: socketPath)
            let hello = try #require(subscriber.object())
            #expect(hello["type"] as? String == "hello")
            return hello
        }
        func fusionEntry(_ hello: [String: Any]) -> [String: Any]? {
            (hello["model_details"] as? [[String: Any]])?.first { $0["role"] as? String == "fusion" }
        }

        let listener = try TestSubscriber(path: socketPath)
        let first = try #require(listener.object())
        #expect((first["models"] as? [String: Any])?["fusion"] is NSNull && fusionEntry(first) == nil, "no fusion model at start: \(first)")
        listener.send(#"{"subscribe":["status"]}"#)

        let none = hangUp()
        #expect(none.contains("no fusion model in \(fusionPath)") && none.contains("merd train"), "\(none)")

        let sha = try install([2, 3])
        let replaced = hangUp()
        #expect(replaced.contains("fusion model reloaded from \(fusionPath)") && replaced.contains(sha), "\(replaced)")
        var status: [String: Any]?
        while let event = listener.object(timeout: 3), status == nil { if event["source"] as? String == "fusion" { status = event } }
        #expect(status?["state"] as? String == "running" && (status?["detail"] as? String)?.contains(sha) == true, "\(String(describing: status))")
        let after = try hello()
        #expect((after["models"] as? [String: Any])?["fusion"] as? String == "jdev-ensemble" && fusionEntry(after)?["sha256"] as? String == sha,
                "a later subscriber's hello names the new model: \(after)")

        #expect(hangUp().contains("is the one running; nothing to reload"))

        // One byte of the weights changed (same size): not what model.json records.
        let weights = try FileHandle(forUpdating: URL(fileURLWithPath: fusionPath + "/model.safetensors"))
        try weights.seek(toOffset: 200)
        let byte = try #require(try weights.read(upToCount: 1)?.first)
        try weights.seek(toOffset: 200)
        try weights.write(contentsOf: [byte ^ 0xFF])
        try weights.close()
        let damaged = hangUp()
        #expect(damaged.contains("is not used") && damaged.contains("sha256") && damaged.contains("the running one decodes on"), "\(damaged)")
        #expect(fusionEntry(try hello())?["sha256"] as? String == sha, "the running model is still the one named")

        _ = try install([2, 9])
        let unusable = hangUp()
        #expect(unusable.contains("is not used") && unusable.contains("\"HL9\"") && unusable.contains("the running one decodes on"), "\(unusable)")
        #expect(fusionEntry(try hello())?["sha256"] as? String == sha)
        #expect(process.isRunning)

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        log.waitUntilClosed()
    }

    @Test("out of file descriptors, the accept loop pauses instead of spinning, says so once, and recovers")
    func descriptorLimit() throws {
        let socketPath = NSTemporaryDirectory() + "merd-nofile-\(UUID().uuidString.prefix(8)).sock"
        let process = Process()
        process.environment = MerdProcess.environment
        // util-linux's prlimit: 32 descriptors, of which merd's own take about a dozen.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=32:32", MerdProcess.executable.path, "run", "--socket", socketPath, "--audio", "none", "--video", "none",
                             "--models", NSTemporaryDirectory() + "merd-none"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
        var clients: [TestSubscriber] = []
        for _ in 0..<40 { if let client = try? TestSubscriber(path: socketPath) { clients.append(client) } }
        usleep(300_000)
        /// The daemon's CPU seconds (utime + stime from /proc).
        func cpu() -> Double {
            let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            guard fields.count > 13 else { return 0 }
            return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        let before = cpu()
        usleep(1_000_000)
        let used = cpu() - before
        #expect(used < 0.2, "\(used) s of CPU in 1 s at the descriptor limit: the accept loop must not spin")
        clients.removeAll()  // closes them: descriptors free up
        usleep(300_000)
        let late = try TestSubscriber(path: socketPath)
        #expect(late.object()?["type"] as? String == "hello", "accepting again")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // Said once while the limit held (a second of retries every 250 ms), then the recovery.
        // (Closing the clients may start a second, short episode: the kernel's backlog still
        // holds connections that are accepted, then found closed.)
        let lines = log.split(separator: "\n")
        let recovered = try #require(lines.firstIndex { $0.contains("accepting subscribers again") }, "\(log)")
        #expect(lines[..<recovered].filter { $0.contains("cannot accept a subscriber") }.count == 1, "said once: \(log)")
    }

    /// Runs `merd` with `arguments` under the kernel's W^X policy (PR_SET_MDWE: what systemd's
    /// MemoryDenyWriteExecute=yes applies), set by Python's ctypes before it execs merd.
    static func underWriteXorExecute(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import ctypes, os, sys; libc = ctypes.CDLL(None); "
                             + "sys.exit(3) if libc.prctl(65, 1, 0, 0, 0) != 0 else os.execv(sys.argv[1], sys.argv[1:])",
                             MerdProcess.executable.path] + arguments
        process.environment = MerdProcess.environment(adding: environment)
        return process
    }

    @Test("under a W^X policy (systemd's MemoryDenyWriteExecute) oneDNN cannot make its kernels: the daemon says so and runs on OpenBLAS; asked for oneDNN, it stops with one line",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/python3"), "needs python3 to set the policy"))
    func writeXorExecute() throws {
        let socketPath = NSTemporaryDirectory() + "merd-wx-\(UUID().uuidString.prefix(8)).sock"
        let arguments = ["run", "--socket", socketPath, "--audio", "none", "--video", "none", "--models", NSTemporaryDirectory() + "merd-none"]
        let fallback = try Self.underWriteXorExecute(arguments, environment: ["MERD_COMPUTE": ""])
        let errors = Pipe()
        fallback.standardError = errors
        try fallback.run()
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: socketPath) && fallback.isRunning { usleep(10_000) }
        if !fallback.isRunning && fallback.terminationStatus == 3 {
            withKnownIssue("this kernel has no PR_SET_MDWE (Linux 6.3 and later)") { throw CocoaError(.featureUnsupported) }
            return
        }
        let reader = try TestSubscriber(path: socketPath)
        #expect(reader.object()?["type"] as? String == "hello", "serving on OpenBLAS")
        kill(fallback.processIdentifier, SIGTERM)
        fallback.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("oneDNN cannot create its kernels here") && log.contains("MemoryDenyWriteExecute") && log.contains("using OpenBLAS"), "\(log)")

        let explicit = try Self.underWriteXorExecute(arguments, environment: ["MERD_COMPUTE": "onednn"])
        let explicitErrors = Pipe()
        explicit.standardError = explicitErrors
        try explicit.run()
        // It must stop by itself; one that serves instead would hold the test run for ever.
        for _ in 0..<3000 where explicit.isRunning { usleep(10_000) }
        if explicit.isRunning { kill(explicit.processIdentifier, SIGKILL) }
        explicit.waitUntilExit()
        let line = String(decoding: explicitErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(explicit.terminationStatus == 2 && line.contains("oneDNN cannot create its kernels here") && line.split(separator: "\n").count == 1, "\(line)")
    }

    @Test("compute.precision = bf16 from the file and --backend from the flags are what the models load with; BF16 without the CPU's support falls back to F32 on the faster backend here and says so; with it, its measured speed against F32 is logged; oneDNN asked for where OpenBLAS is faster is kept, with a warning")
    func computeChoice() throws {
        let config = NSTemporaryDirectory() + "merd-\(UUID().uuidString.prefix(8)).toml"
        let socketPath = NSTemporaryDirectory() + "merd-compute-\(UUID().uuidString.prefix(8)).sock"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "[compute]\nprecision = \"bf16\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let hasBF16 = cpuinfo.contains(" avx512_bf16") || cpuinfo.contains(" amx_bf16")
        // Where the kernels' names settle the backend (ComputeTests checks the rule against the
        // CPU's ISA), every process takes the same; with gemm:jit each process times both
        // backends at start, so the child's log, not this process, says which it took.
        let namesSettle = !Compute.standardReason.contains("measured at start")
        for (arguments, expected) in [([String](), hasBF16 ? "compute onednn/bf16" : "compute "),
                                      (["--precision", "f32", "--backend", "openblas"], "compute openblas/f32"),
                                      (["--precision", "f32", "--backend", "onednn"], "compute onednn/f32")] {
            let process = Process()
            process.executableURL = MerdProcess.executable
            process.arguments = ["run", "--config", config, "--socket", socketPath, "--audio", "none", "--video", "none",
                                 "--models", NSTemporaryDirectory() + "merd-none"] + arguments
            process.environment = MerdProcess.environment(adding: ["MERD_COMPUTE": ""])
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            for _ in 0..<500 where !FileManager.default.fileExists(atPath: socketPath) && process.isRunning { usleep(10_000) }
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0 && log.contains(expected), "\(arguments): \(log)")
            // The backend the child took where nothing named one, from its log.
            let standard = ["openblas", "onednn"].first { log.contains("compute.backend not set: \($0), because") }
            if arguments.isEmpty && !hasBF16 {
                #expect(log.contains("bf16 is not available here") && standard != nil, "\(log)")
                #expect(log.contains("compute \(standard ?? "?")/f32"), "\(log)")
                if namesSettle {
                    #expect(standard == Compute.standard.backend.rawValue, "\(log)")
                } else {
                    #expect(log.contains("× the speed of OpenBLAS's \(BLAS.coreName) kernels (measured at start"), "\(log)")
                }
            }
            // The face CNN encoders take oneDNN's convolutions exactly where nothing was named and OpenBLAS is the standard.
            let encodersLine = "compute.backend not set: the face CNN encoders (EfficientNet, ResNet-50, MA-Net) on onednn, because oneDNN's convolutions run"
            #expect(log.contains(encodersLine) == (arguments.isEmpty && !hasBF16 && standard == "openblas"), "\(arguments): \(log)")
            // Where OpenBLAS is the faster, an explicit oneDNN runs with a warning saying so; elsewhere, without.
            if arguments.last == "onednn" {
                let warned = log.contains("compute onednn was asked for, but")
                if namesSettle {
                    #expect(warned == (Compute.standard == .openBLAS), "\(log)")
                } else if warned {
                    #expect(log.contains("× the speed of OpenBLAS's"), "the warning gives the measured ratio: \(log)")
                }
            }
            // With BF16, its speed against F32 is measured at start and said either way.
            if arguments.isEmpty && hasBF16 {
                #expect(log.contains("× f32's speed on this CPU"), "\(log)")
            }
        }
    }

    /// The first ~100 ms of a process are the dynamic loader's and the libraries' (`merd
    /// --version` takes as long); merd's handlers exist from its first log line on, and systemd
    /// counts an end by SIGTERM before that as a clean stop anyway.
    @Test("SIGTERM at any moment of start-up from merd's first log line, before or just after the socket is served, exits 0 (the watchdog service finishing in the shutdown was an error)")
    func sigtermDuringStart() throws {
        var statuses: [String] = []
        for delay in stride(from: 0, through: 200, by: 10) {
            let socketPath = NSTemporaryDirectory() + "merd-early-\(UUID().uuidString.prefix(8)).sock"
            let process = Process()
            process.environment = MerdProcess.environment
            process.executableURL = MerdProcess.executable
            process.arguments = ["run", "--socket", socketPath, "--audio", "none", "--video", "none", "--history", "none",
                                 "--models", NSTemporaryDirectory() + "merd-none"]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let first = errors.fileHandleForReading.availableData
            usleep(useconds_t(delay * 1000))
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            let log = String(decoding: first + errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "SIGTERM after \(delay) ms: \(log)")
            #expect(!log.contains("ServiceGroupError"), "SIGTERM after \(delay) ms: \(log)")
            statuses.append("\(delay) ms: \(process.terminationStatus)")
        }
        print("SIGTERM during start: \(statuses.joined(separator: ", "))")
    }

    @Test("flags are checked as their keys in the file are: one line naming the flag, exit status 2")
    func badFlags() throws {
        for (arguments, needle) in [(["--socket", ""], "--socket \"\" is not valid"), (["--socket", "events.sock"], "--socket \"events.sock\" is not valid"),
                                    (["--layers", "99"], "--layers 99 is not valid; layers are distinct whole numbers in 0…48"),
                                    (["--queue-size", "0"], "--queue-size 0 is not valid"),
                                    (["--backend", "cuda"], "--backend \"cuda\" is not valid; it must be one of \"openblas\", \"onednn\""),
                                    (["--precision", "fp16"], "--precision \"fp16\" is not valid"),
                                    (["--backend", "openblas", "--precision", "bf16"], "BF16 runs on oneDNN only"),
                                    (["--history", "history.sqlite"], "--history \"history.sqlite\" is not valid; the history must be an absolute path")] {
            let result = try MerdProcess.run(["run", "--audio", "none", "--video", "none"] + arguments)
            #expect(result.status == 2 && result.stderr.contains(needle) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        // A world-writable socket when asked for in so many words.
        let config = NSTemporaryDirectory() + "merd-\(UUID().uuidString.prefix(8)).toml"
        let socketPath = NSTemporaryDirectory() + "merd-open-\(UUID().uuidString.prefix(8)).sock"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "[socket]\nmode = \"0666\"\nallow_others = true\n".write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = ["run", "--config", config, "--socket", socketPath, "--audio", "none", "--video", "none", "--models", NSTemporaryDirectory() + "merd-none"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
        var status = stat()
        #expect(stat(socketPath, &status) == 0 && status.st_mode & 0o777 == 0o666)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("a truncated recording replayed by merd run: its sources stop, and the log says the file is truncated or damaged")
    func truncatedRecording() throws {
        let folder = NSTemporaryDirectory() + "merd-truncated-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let models = try DaemonModels.make()
        defer { for path in [folder, models] { try? FileManager.default.removeItem(atPath: path) } }
        let clip = try Data(contentsOf: URL(fileURLWithPath: TestPaths.sharedData("grid/bbaf2n.mpg")))
        let cut = folder + "/cut.mpg"
        try clip.prefix(clip.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        let (socket, log, config) = (folder + "/events.sock", folder + "/daemon.log", folder + "/merd.toml")
        try "[models]\nlayers = [2, 3]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try SpawnedProcess(MerdProcess.executable.path, ["run", "--config", config, "--input", cut, "--socket", socket,
                                                                      "--models", models, "--history", "none"], log: log, environment: MerdProcess.environment)
        defer { daemon.stop() }
        for _ in 0..<1000 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
        let reader = try TestSubscriber(path: socket)
        var stopped = Set<String>()
        let expected: Set<String> = DaemonModels.pretrained == nil ? ["audio"] : ["audio", "video"]
        while stopped != expected, let event = reader.object(timeout: 10) {
            if event["type"] as? String == "status", event["state"] as? String == "stopped" { stopped.insert(event["source"] as? String ?? "") }
        }
        #expect(stopped == expected)
        usleep(200_000)
        let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(said.contains("audio \(cut): audio: ") && said.contains("the file is truncated or damaged"), "\(said)")
        daemon.stop()
    }

    @Test("a bad key in the configuration file: exit status 2, one line naming the key, the value and what is allowed")
    func badConfiguration() throws {
        let config = NSTemporaryDirectory() + "merd-\(UUID().uuidString.prefix(8)).toml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        for (text, needle) in [("[engine]\nface_fps = \"fast\"\n", "engine.face_fps"), ("[socket]\nmode = \"0400\"\n", "socket.mode"),
                               ("[sockets]\npath = \"/x\"\n", "sockets"), ("[engine]\nspeed = 3\n", "engine.speed"),
                               ("[log]\nlevel = \"loud\"\n", "log.level"), ("[socket\n", "syntax"),
                               ("[engine]\nspeech_window_seconds = 2\nspeech_overlap_seconds = 2\n", "engine.speech_overlap_seconds"),
                               ("[engine]\nspeech_window_seconds = 0.1\n", "engine.speech_window_seconds"),
                               ("[socket]\nmode = \"0666\"\n", "socket.allow_others = true"), ("[socket]\npath = \"\"\n", "no abstract sockets"),
                               ("[socket]\npath = \"events.sock\"\n", "socket.path"), ("[socket]\nallow_others = \"yes\"\n", "socket.allow_others"),
                               ("[models]\nlayers = [18, 99]\n", "models.layers"),
                               ("[compute]\nbackend = \"cuda\"\n", "compute.backend"), ("[compute]\nprecision = 16\n", "compute.precision"),
                               ("[compute]\nbackend = \"openblas\"\nprecision = \"bf16\"\n", "BF16 runs on oneDNN only"),
                               ("[history]\npath = \"history.sqlite\"\n", "history.path"), ("[history]\nmax_mb = 0\n", "history.max_mb"),
                               ("[history]\nkeep_days = -1\n", "history.keep_days"), ("[history]\nkeep = 3\n", "history.keep"),
                               ("[metrics]\ntextfile = \"/tmp/merd.txt\"\n", "an absolute path ending in .prom"),
                               ("[metrics]\ntextfile_seconds = 0\n", "metrics.textfile_seconds"),
                               ("[engine]\nspeech_detector = \"webrtc\"\n", "engine.speech_detector"),
                               ("[engine]\nspeech_threshold = 1.5\n", "engine.speech_threshold"),
                               ("[engine]\nmax_faces = 0\n", "engine.max_faces"), ("[engine]\nface_track_seconds = \"long\"\n", "engine.face_track_seconds"),
                               ("[engine]\nrequire_visible_speaker = \"yes\"\n", "engine.require_visible_speaker"),
                               ("[engine]\nvisual_gate = 1\n", "engine.visual_gate"),
                               ("[engine]\nspeculate_after_ms = -5\n", "engine.speculate_after_ms"),
                               // Table names toml++ asserts on rather than reporting (found by scripts/fuzz).
                               ("[ ?a]\n", "line 1, column 3"), ("[socket]\n[\n", "line 2, column 2"), ("[[#x]]\n", "(syntax)"),
                               ("[\r\n", "(syntax)"), ("[é]\n", "a [table] name starts with"),
                               ("[models]\nlayers = [18, }]\n", "an array element cannot start with '}'")] as [(String, String?)] {
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let result = try MerdProcess.run(["run", "--config", config, "--socket", NSTemporaryDirectory() + "never.sock"])
            if let needle {
                #expect(result.status == 2 && result.stderr.contains(needle) && result.stderr.split(separator: "\n").count == 1, "\(text): \(result.stderr)")
            } else {
                #expect(result.status == 2, "\(text): \(result.stderr)")
            }
        }
        let missing = try MerdProcess.run(["run", "--config", "/nonexistent.toml"])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent.toml"))
    }
}
