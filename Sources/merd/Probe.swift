import MerdDaemon
import ArgumentParser
import CaptureFile
import Foundation
import MediaTypes

/// `merd probe FILE`: streams, formats, durations, frame counts.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a media file: streams, formats, durations, frame counts.")

    @Argument(help: "A media file.")
    var input: String

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func run() async throws {
        let info: MediaInfo
        do {
            info = try MediaProbe.probe(input)
        } catch {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }
        if json {
            var streams: [[String: Any]] = []
            for s in info.streams {
                var entry: [String: Any] = ["index": s.index, "type": s.kind.rawValue, "codec": s.codec, "packets": s.packets]
                if let v = s.sampleRate { entry["sample_rate"] = v }
                if let v = s.channels { entry["channels"] = v }
                if let v = s.width { entry["width"] = v }
                if let v = s.height { entry["height"] = v }
                if let v = s.pixelFormat { entry["pixel_format"] = v }
                if let v = s.framesPerSecond { entry["fps"] = v }
                if let v = s.durationSeconds { entry["duration"] = v }
                streams.append(entry)
            }
            var object: [String: Any] = ["path": info.path, "container": info.container, "streams": streams]
            if let d = info.durationSeconds { object["duration"] = d }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            writeLine(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(info.path): \(info.container)\(info.durationSeconds.map { String(format: ", %.3f s", $0) } ?? "")")
        for s in info.streams {
            var detail = ""
            switch s.kind {
            case .audio: detail = "\(s.sampleRate ?? 0) Hz, \(s.channels ?? 0) channels"
            case .video: detail = "\(s.width ?? 0)x\(s.height ?? 0) \(s.pixelFormat ?? "")\(s.framesPerSecond.map { String(format: " @ %.3g fps", $0) } ?? "")"
            case .other: detail = ""
            }
            let duration = s.durationSeconds.map { String(format: ", %.3f s", $0) } ?? ""
            print("  #\(s.index) \(s.kind.rawValue) \(s.codec) \(detail)\(duration), \(s.packets) \(s.kind == .audio ? "packets" : "frames")")
        }
    }
}
