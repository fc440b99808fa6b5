import Foundation
import MerdDaemon
import TestSupport
import Testing

@Suite("Content digests of downloaded files")
struct ContentDigestTests {
    func file(_ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "merd-digest-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("SHA-256 and git's blob id on published test vectors")
    func vectors() throws {
        let abc = try file(Data("abc".utf8)), empty = try file(Data()), hello = try file(Data("hello\n".utf8))
        defer { for path in [abc, empty, hello] { try? FileManager.default.removeItem(atPath: path) } }
        // FIPS 180-2's "abc" and the empty message.
        #expect(try ContentDigest.sha256(ofFile: abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try ContentDigest.sha256(ofFile: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // `echo hello | git hash-object --stdin`, and git's id of the empty blob.
        #expect(try ContentDigest.gitBlobID(ofFile: hello) == "ce013625030ba8dba906f756967f9e9ca394464a")
        #expect(try ContentDigest.gitBlobID(ofFile: empty) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
    }

    @Test("a file spanning several read blocks digests as one stream")
    func largeFile() throws {
        // 3 MiB + 7 bytes of a pattern: three whole blocks and a ragged one.
        let data = Data((0..<(3 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 11)) })
        let path = try file(data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sha = try ContentDigest.sha256(ofFile: path)
        let blob = try ContentDigest.gitBlobID(ofFile: path)
        #expect(sha == (try ProcessOutput.run("/usr/bin/sha256sum", [path]).split(separator: " ").first.map(String.init)))
        #expect(blob == (try ProcessOutput.run("/usr/bin/git", ["hash-object", path]).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test("a missing file is an error naming it")
    func missing() {
        #expect(throws: ContentDigestError.cannotRead(path: "/nonexistent/merd", reason: "No such file or directory")) {
            try ContentDigest.sha256(ofFile: "/nonexistent/merd")
        }
    }
}
