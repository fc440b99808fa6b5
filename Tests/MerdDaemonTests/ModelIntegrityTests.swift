import Foundation
import Logging
@testable import MerdDaemon
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Model files checked against their manifest before loading")
struct ModelIntegrityTests {
    /// A model folder holding `weights.bin` (4 KiB) and a manifest with its sha256 (coreutils').
    func folder() throws -> (directory: String, file: String) {
        let directory = NSTemporaryDirectory() + "merd-integrity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/weights.bin"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) }).write(to: URL(fileURLWithPath: file))
        let sha = String(try ProcessOutput.run("/usr/bin/sha256sum", [file]).prefix(64))
        try #"{"name": "tiny", "files": [{"name": "weights.bin", "sha256": "\#(sha)"}]}"#.write(toFile: directory + "/model.json", atomically: true, encoding: .utf8)
        return (directory, file)
    }

    /// Changes one byte of `file` in place (same size).
    func damage(_ file: String) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data([0xFF]))
        try handle.close()
    }

    @Test("a file as installed passes and is remembered; a changed one is refused naming both hashes and what to do")
    func verify() throws {
        let (directory, file) = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ModelIntegrity.verify(directory: directory)
        #expect(FileManager.default.fileExists(atPath: directory + "/.verified.json"))
        try damage(file)
        let error = try #require(throws: ModelStoreError.self) { try ModelIntegrity.verify(directory: directory) }
        #expect(error.description.contains("\(file): its sha256 is") && error.description.contains("model.json says")
                && error.description.contains("merd models fetch tiny --force"), "\(error.description)")
    }

    @Test("the remembered check is keyed by size and modification time: an unchanged file is not hashed again")
    func cache() throws {
        let (directory, file) = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ModelIntegrity.verify(directory: directory)
        // Damage the content but put the modification time back: what the cache trusts.
        var status = stat()
        stat(file, &status)
        try damage(file)
        var times = [status.st_atim, status.st_mtim]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        try ModelIntegrity.verify(directory: directory)  // passes: remembered, not hashed
        try FileManager.default.removeItem(atPath: directory + "/.verified.json")
        #expect(throws: ModelStoreError.self) { try ModelIntegrity.verify(directory: directory) }
    }

    @Test("a listed file that is missing, or a link to nothing, is named")
    func missing() throws {
        let (directory, file) = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: "/nonexistent/weights.bin")
        let error = try #require(throws: ModelStoreError.self) { try ModelIntegrity.verify(directory: directory) }
        #expect(error.description.contains("\(file): listed in") && error.description.contains("missing (or a link to nothing)"), "\(error.description)")
    }

    @Test("a face detector without its landmark model (a link to a file that is gone) is an error, not a run without faces")
    func halfInstalledFaces() throws {
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/mtcnn", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/dlib-landmarks-68", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("vision/mtcnn_random.safetensors"), toPath: root + "/mtcnn/model.safetensors")
        let link = root + "/dlib-landmarks-68/shape_predictor_68_face_landmarks.dat"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/nonexistent/shape_predictor_68_face_landmarks.dat")
        let error = try #require(throws: ModelStoreError.self) {
            try EngineModels.load(root: root, layers: [18], fusionDirectory: "none", logger: Logger(label: "test"))
        }
        #expect(error.description.contains("\(link) is a link to /nonexistent/shape_predictor_68_face_landmarks.dat, which does not exist")
                && error.description.contains("libdlib-data"), "\(error.description)")
    }

    @Test("the speech detector: Silero VAD when installed, energy with a warning when not, an error when silero is asked for and missing or damaged")
    func speechDetector() throws {
        let root = NSTemporaryDirectory() + "merd-models-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let records = RecordingLogHandler.Store()
        let logger = RecordingLogHandler.logger(records)
        #expect(try EngineModels.voiceDetector(root: root, kind: nil, logger: logger) == nil)
        #expect(records.messages.contains { $0.contains("no Silero VAD in \(root)") && $0.contains("tools/fetch-default-models") }, "\(records.messages)")
        #expect(try EngineModels.voiceDetector(root: root, kind: .energy, logger: logger) == nil)
        let missing = try #require(throws: ModelStoreError.self) { try EngineModels.voiceDetector(root: root, kind: .silero, logger: logger) }
        #expect(missing.description.contains("\(root)/silero-vad/model.safetensors: no Silero VAD model"), "\(missing)")
        // A file that is not Silero VAD's, where its model should be: refused by name, even by default.
        try FileManager.default.createDirectory(atPath: root + "/silero-vad", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("vision/mtcnn_random.safetensors"), toPath: root + "/silero-vad/model.safetensors")
        let foreign = try #require(throws: ModelStoreError.self) { try EngineModels.voiceDetector(root: root, kind: nil, logger: logger) }
        #expect(foreign.description.contains("silero-vad/model.safetensors"), "\(foreign)")
        // With the energy detector asked for, the model is not even read.
        #expect(try EngineModels.voiceDetector(root: root, kind: .energy, logger: logger) == nil)
    }
}
