import Foundation
import TestSupport
import Testing

@Suite("merd segment")
struct SegmentCommandTests {
    static let clip = TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg")

    @Test("one JSON line per utterance; the GRID clip's speech is 0.49–2.21 s by its alignment")
    func gridClip() throws {
        let result = try MerdProcess.run("segment", Self.clip)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stdout)")
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Double]
        #expect(Set(object.keys) == ["start", "end"])
        #expect(abs(object["start"]! - 0.49) < 0.1 && abs(object["end"]! - 2.21) < 0.1, "\(object)")
    }

    @Test("a missing file or device is a usage error with one line, and ALSA's own chatter is silenced")
    func errors() throws {
        for input in ["/nonexistent.wav", "alsa:nosuchpcm"] {
            let result = try MerdProcess.run("segment", input)
            #expect(result.status == 2)
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(input), "\(result.stderr)")
        }
    }
}
