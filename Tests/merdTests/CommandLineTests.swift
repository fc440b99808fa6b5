import Foundation
import NeuralKit
import TestSupport
import Testing

/// Runs the built `merd` executable as a user would, checking output and exit status.
struct MerdProcess {
    /// `merd` sits beside the test bundle in the build's products directory.
    static let executable: URL = {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the runner may be inside <name>.xctest; the products are one level up then.
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("merd")
    }()

    /// The environment `merd` runs in under test: this process's, except that merd's state
    /// folder (the history, the bridge's progress: `HistoryLocation.stateDirectory`) is one of
    /// this test process's own, so that no test writes into the user's `~/.local/state/merd`
    /// (or `/var/lib/merd` under systemd) nor reads a history left there.
    static let environment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = stateHome
        environment.removeValue(forKey: "STATE_DIRECTORY")
        return environment
    }()

    /// `$XDG_STATE_HOME` of every `merd` a test runs; merd's own folder is `merd` in it.
    static let stateHome = NSTemporaryDirectory() + "merd-test-state-\(getpid())"

    /// ``environment`` with `added` over it.
    static func environment(adding added: [String: String]) -> [String: String] {
        environment.merging(added) { $1 }
    }

    static func run(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(arguments)
    }

    /// Runs with `environment` added to ``environment``.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = Self.environment(adding: environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("merd command line")
struct CommandLineTests {
    @Test("a comma-separated option with a bad item is refused whole, naming the option and the item")
    func commaSeparatedLists() throws {
        let cases: [([String], String)] = [
            (["analyze", "/nonexistent.wav", "--layers", "18,x,20"], "--layers takes distinct whole numbers, e.g. 18,19,20; 'x' in '18,x,20'"),
            (["analyze", "/nonexistent.wav", "--layers", "18,18"], "--layers names a layer twice in '18,18'"),
            (["run", "--layers", "3,-1"], "'-1' in '3,-1'"),
            (["features", "audio", "--model", "/nonexistent", "--layers", "", "/nonexistent.wav", "--out", "/nonexistent.safetensors"], "'' in ''"),
            (["bench", "hubert", "--model", "/nonexistent", "--seconds", "1,,4"], "--seconds takes positive numbers, e.g. 1,4,10; '' in '1,,4'"),
            (["bench", "faces", "--threads", "2,0"], "--threads takes positive whole numbers, e.g. 1,2; '0' in '2,0'"),
            (["bench", "speech-emotion", "--model", "/nonexistent", "--seconds", "4,-1"], "--seconds takes positive numbers, e.g. 1,4,10; '-1' in '4,-1'"),
            (["bench", "speech-emotion", "--model", "/nonexistent"], "/nonexistent/config.json: not found"),
            (["bench", "precision", "--layers", "18,x"], "--layers takes distinct whole numbers, e.g. 18,19,20; 'x' in '18,x'"),
            (["bench", "engine", "--model", "/nonexistent", "--precision", "fp8"], "--precision takes f32 or bf16, got fp8"),
        ]
        for (arguments, message) in cases {
            let result = try MerdProcess.run(arguments)
            #expect(result.status == 2, "\(arguments): status \(result.status), \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        }
    }

    @Test("--version and --help succeed")
    func versionAndHelp() throws {
        let version = try MerdProcess.run("--version")
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let help = try MerdProcess.run("--help")
        #expect(help.status == 0 && help.stdout.contains("models"))
    }

    @Test("a bad flag is a usage error: status 2 and a message on stderr")
    func badFlag() throws {
        let result = try MerdProcess.run("--no-such-flag")
        #expect(result.status == 2)
        #expect(result.stderr.contains("--no-such-flag") && result.stdout.isEmpty)
    }

    @Test("models inspect lists name, dtype and shape")
    func inspect() throws {
        let path = NSTemporaryDirectory() + "merd-inspect-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsWriter.write(
            [(name: "feature_projection.projection.weight", tensor: Tensor(shape: [3, 2])),
             (name: "masked_spec_embed", tensor: Tensor(shape: [3]))],
            metadata: ["format": "pt"], as: .f16, to: path)
        let result = try MerdProcess.run("models", "inspect", path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.contains(["feature_projection.projection.weight", "F16", "[3,", "2]"]))
        #expect(lines.contains(["masked_spec_embed", "F16", "[3]"]))
        #expect(result.stdout.contains("2 tensors, 9 elements"))
        #expect(result.stdout.contains("metadata format: pt"))
    }

    @Test("models inspect of a broken file: the error names the file and the tensor, status 1")
    func inspectBroken() throws {
        let path = NSTemporaryDirectory() + "merd-broken-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try SafeTensorsWriter.encode([(name: "encoder.weight", tensor: Tensor(shape: [4, 4]))])
        bytes.removeLast(10)  // a truncated download
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let result = try MerdProcess.run("models", "inspect", path)
        #expect(result.status == 1)
        #expect(result.stderr.contains(path) && result.stderr.contains("encoder.weight"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("models inspect lists a PyTorch checkpoint's tensors, a whole pickled module's as state_dict() names them")
    func inspectPyTorch() throws {
        let path = TestPaths.fixture("torch/module.pt")
        let result = try MerdProcess.run("models", "inspect", path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.contains(["stem.weight", "F32", "[4,", "3,", "3,", "3]"]))
        #expect(lines.contains(["norm.num_batches_tracked", "I64", "[]"]))
        #expect(result.stdout.contains("pytorch checkpoint: module __main__.TinyNet, archive folder 'module'"))

        let legacy = try MerdProcess.run("models", "inspect", TestPaths.fixture("torch/legacy.pt"))
        #expect(legacy.status == 1)
        #expect(legacy.stderr.contains("torch.save(torch.load(f), g)"), "\(legacy.stderr)")
    }

    @Test("bench hubert prints the machine, beside each timing the share of CPU time the hypervisor took, and the instructions' peak last")
    func benchHuBERTReportsStolenTime() throws {
        let result = try MerdProcess.run("bench", "hubert", "--model", TestPaths.fixture("hubert/large"), "--seconds", "1", "--repeat", "1")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("machine: ") == true, "\(result.stdout)")
        let timing = try #require(lines.first { $0.hasPrefix("merd hubert 1 s: median ") }, "\(result.stdout)")
        // "(front end 3 ms; 0.4 % of the CPU time stolen by the hypervisor)": /proc/stat is there on Linux.
        #expect(timing.range(of: #"; [0-9]+\.[0-9] % of the CPU time stolen by the hypervisor\)$"#, options: .regularExpression) != nil, "\(timing)")
        // The ceiling the timings are read against, on the benchmark's threads (2 by default).
        #expect(lines.last?.range(of: #"^instruction peak, 2 threads, registers only: F32 FMA \((256|512)-bit\) [0-9]+ GFLOP/s; BF16 dot products"#,
                                  options: .regularExpression) != nil, "\(result.stdout)")
    }

    @Test("models inspect of a missing file is a usage error")
    func inspectMissing() throws {
        let result = try MerdProcess.run("models", "inspect", "/nonexistent/model.safetensors")
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/model.safetensors") && result.stderr.contains("no such file"))
    }
}
