import Foundation
import TestSupport
import Testing

@Suite("merd probe")
struct ProbeCommandTests {
    @Test("streams, formats, duration and frame counts of a GRID clip, as text and JSON")
    func grid() throws {
        let clip = TestPaths.sharedData("grid/bbaf2n.mpg")
        let text = try MerdProcess.run("probe", clip)
        #expect(text.status == 0)
        #expect(text.stdout.contains("video mpeg1video 360x288 yuv420p @ 25 fps") && text.stdout.contains("75 frames"), "\(text.stdout)")
        #expect(text.stdout.contains("audio mp2 44100 Hz, 2 channels"))
        let json = try MerdProcess.run("probe", "--json", clip)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let streams = object["streams"] as! [[String: Any]]
        #expect(object["container"] as? String == "mpeg" && abs((object["duration"] as? Double ?? 0) - 3) < 0.01)
        #expect(streams.first { $0["type"] as? String == "video" }?["packets"] as? Int == 75)
    }

    @Test("not media: status 1; missing: status 2")
    func errors() throws {
        let notMedia = NSTemporaryDirectory() + "merd-probe-\(UUID().uuidString).txt"
        try Data("plain text".utf8).write(to: URL(fileURLWithPath: notMedia))
        defer { try? FileManager.default.removeItem(atPath: notMedia) }
        let bad = try MerdProcess.run("probe", notMedia)
        #expect(bad.status == 1 && bad.stderr.contains("not a media file"))
        #expect(try MerdProcess.run("probe", "/nonexistent.mp4").status == 2)
    }
}
