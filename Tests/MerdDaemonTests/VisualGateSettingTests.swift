import Foundation
@testable import MerdDaemon
import Testing

@Suite("engine.visual_gate")
struct VisualGateSettingTests {
    @Test("on unless the config turns it off; the segmenter's parameters follow")
    func setting() throws {
        let path = NSTemporaryDirectory() + "merd-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "[engine]\nvisual_gate = false\n".write(toFile: path, atomically: true, encoding: .utf8)
        let off = try DaemonConfiguration.load(path: path, required: true)
        #expect(!off.visualGate && off.segmenter.visualGate == nil)
        try "[engine]\nface_fps = 10\n".write(toFile: path, atomically: true, encoding: .utf8)
        let unset = try DaemonConfiguration.load(path: path, required: true)
        #expect(unset.visualGate && unset.segmenter.visualGate != nil)
    }
}
