import Foundation
import MediaCodec
import TestSupport
import Testing

/// FFmpeg's libraries are opened when merd first decodes (CFFmpegLoader), so a command that
/// decodes nothing runs without them, and one that needs them says which is missing.
@Suite("FFmpeg opened on first use")
struct FFmpegLoadingCommandTests {
    /// Runs merd with glibc's loader trace (a line per library it loads, and why) written to
    /// a file rather than stderr: the trace runs to hundreds of kilobytes, more than a pipe
    /// nobody reads until stdout ends can hold. Returns the status and the trace.
    static func traced(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, trace: String) {
        let prefix = NSTemporaryDirectory() + "merd-ld-\(UUID().uuidString)"
        let result = try MerdProcess.run(arguments, environment: environment.merging(["LD_DEBUG": "files", "LD_DEBUG_OUTPUT": prefix]) { $1 })
        // One file per process: merd's image and the one it re-executes keep the same pid.
        let directory = URL(fileURLWithPath: prefix).deletingLastPathComponent()
        let name = URL(fileURLWithPath: prefix).lastPathComponent
        var trace = ""
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasPrefix(name + ".") {
            let path = directory.appendingPathComponent(file).path
            trace += try String(contentsOfFile: path, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: path)
        }
        return (result.status, trace)
    }

    @Test("a command that decodes nothing loads no FFmpeg library; probing a clip opens the three it reads with")
    func openedOnFirstUse() throws {
        let version = try Self.traced(["--version"])
        #expect(version.status == 0)
        // The trace is there (Swift's runtime, linked), so an absent FFmpeg line means something.
        #expect(version.trace.contains("file=libswiftCore.so"), "\(version.trace.prefix(400))")
        for library in FFmpegLibraries.Library.allCases {
            #expect(!version.trace.contains("file=\(library.fileName) "), "\(library.fileName) loaded by merd --version")
        }

        let probe = try Self.traced(["probe", TestPaths.sharedData("grid/bbaf2n.mpg")])
        #expect(probe.status == 0)
        for library in [FFmpegLibraries.Library.avutil, .avcodec, .avformat] {
            #expect(probe.trace.contains("file=\(library.fileName) [0];  dynamically loaded by"), "\(library.fileName) not opened by merd probe")
        }
    }

    @Test("an FFmpeg library that cannot be opened: the command that reads media and the daemon say which, and what to install; others still run")
    func unavailable() throws {
        // A damaged libavformat, found first on the library path.
        let directory = NSTemporaryDirectory() + "merd-ffmpeg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let library = FFmpegLibraries.Library.avformat
        #expect(FileManager.default.createFile(atPath: directory + "/" + library.fileName, contents: Data()))
        let environment = ["LD_LIBRARY_PATH": directory]
        let expected = "FFmpeg's \(library.fileName) could not be opened"
        let advice = "apt-get install --reinstall \(library.package)"
        #expect(library.package.hasPrefix("libavformat") && library.package.allSatisfy { $0 != "." })

        let probe = try MerdProcess.run(["probe", TestPaths.sharedData("grid/bbaf2n.mpg")], environment: environment)
        #expect(probe.status == 1, "\(probe.stderr)")
        #expect(probe.stderr.contains(expected) && probe.stderr.contains("file too short") && probe.stderr.contains(advice), "\(probe.stderr)")
        #expect(probe.stderr.split(separator: "\n").count == 1, "one line: \(probe.stderr)")

        // The daemon opens all five before its sources and models: a runtime error at start.
        let socketPath = directory + "/merd.sock"
        let daemon = try MerdProcess.run(["run", "--socket", socketPath, "--audio", "none", "--video", "none", "--models", directory + "/models"],
                                         environment: environment)
        #expect(daemon.status == 1, "\(daemon.stderr)")
        #expect(daemon.stderr.contains(expected) && daemon.stderr.contains(advice), "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socketPath), "no socket for a daemon that did not start")

        let version = try MerdProcess.run(["--version"], environment: environment)
        #expect(version.status == 0 && version.stderr.isEmpty, "\(version.stderr)")
    }
}
