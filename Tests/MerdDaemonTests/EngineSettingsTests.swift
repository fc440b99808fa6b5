import Foundation
@testable import MerdDaemon
import StreamEngine
import TestSupport
import Testing

@Suite("the [engine] keys reach the live engine's configuration")
struct EngineSettingsTests {
    private func load(_ text: String) throws -> DaemonConfiguration {
        let path = NSTemporaryDirectory() + "merd-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try DaemonConfiguration.load(path: path, required: true)
    }

    @Test("every key set away from its default is what the engine is given; unset, the engine's own defaults")
    func everyKey() throws {
        let engine = try load("""
            [models]
            layers = [17, 20]
            [engine]
            face_fps = 5
            face_event_seconds = 2.5
            max_faces = 2
            face_track_seconds = 7
            require_visible_speaker = true
            visual_gate = false
            video_wait_ms = 250
            speculate_after_ms = 128
            speech_window_seconds = 1.5
            speech_overlap_seconds = 0.5
            speech_threshold = 0.6
            """).engine
        #expect(engine.layers == [17, 20])
        #expect(engine.faceFramesPerSecond == 5 && engine.faceEventSeconds == 2.5)
        #expect(engine.facePipeline.maximumFaces == 2 && engine.facePipeline.tracks.absenceSeconds == 7)
        #expect(engine.requireVisibleSpeaker && engine.segmenter.visualGate == nil)
        #expect(engine.videoWaitMilliseconds == 250)
        #expect(engine.speculateAfterPauseMilliseconds == 128)
        #expect(engine.windowing == HuBERTWindowing(windowSeconds: 1.5, overlapSeconds: 0.5))
        #expect(abs(engine.segmenter.speechThreshold - 0.6) < 1e-12 && abs(engine.segmenter.continueThreshold - 0.45) < 1e-12)
        #expect(engine.liveClock)

        let defaults = try load("[engine]\n").engine
        let own = EngineConfiguration()
        #expect(defaults.speculateAfterPauseMilliseconds == own.speculateAfterPauseMilliseconds && own.speculateAfterPauseMilliseconds == 0)
        #expect(defaults.windowing == own.windowing && defaults.videoWaitMilliseconds == own.videoWaitMilliseconds)
        #expect(defaults.facePipeline.maximumFaces == own.facePipeline.maximumFaces && defaults.segmenter == own.segmenter)
    }

    @Test("speculate_after_ms: a whole number of milliseconds from 0 to 10000; anything else names the key")
    func speculationBounds() throws {
        #expect(try load("[engine]\nspeculate_after_ms = 0\n").engine.speculateAfterPauseMilliseconds == 0)
        #expect(try load("[engine]\nspeculate_after_ms = 10000\n").engine.speculateAfterPauseMilliseconds == 10_000)
        for bad in ["-1", "10001", "1.5", "\"soon\"", "true"] {
            do {
                _ = try load("[engine]\nspeculate_after_ms = \(bad)\n")
                Issue.record("speculate_after_ms = \(bad) was accepted")
            } catch {
                #expect("\(error)".contains("engine.speculate_after_ms"), "\(bad): \(error)")
            }
        }
    }

    @Test("the shipped systemd/merd.toml loads, and its values are the defaults it says they are")
    func shippedFile() throws {
        let shipped = try DaemonConfiguration.load(path: TestPaths.repository.appendingPathComponent("systemd/merd.toml").path, required: true)
        var expected = DaemonConfiguration()
        // The two it names where the defaults leave a choice open: the cores of a 2-core
        // machine, and F32 (unset, the process's default, which MERD_COMPUTE may make BF16).
        expected.threads = 2
        expected.computePrecision = .f32
        #expect(shipped == expected)
        #expect(shipped.engine.speculateAfterPauseMilliseconds == 0)
    }
}
