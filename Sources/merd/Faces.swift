import MerdDaemon
import ArgumentParser
import CaptureFile
import Foundation
import MediaCodec
import MediaTypes
import StreamEngine

/// `merd faces FILE`: the face pipeline on an image or a video, one JSON line per sampled frame.
struct Faces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the face pipeline on an image or video: one JSON line per sampled frame.",
        discussion: """
            Each line: {"frame":i,"time":s,"detected":n,"tracked":bool,"faces":[{"box":[x,y,w,h],"score":p,\
            "landmarks":[[x,y]…],"quality":{…},"probs":{label:p},"encoders":{name:{label:p}},"valence":v,"arousal":a}]}. \
            The largest face is landmarked and encoded ("detected" counts them all); a face whose quality verdict \
            is not "good" has no probabilities. "probs" are the first encoder's; valence and arousal, on the \
            encoder's own scale (EmotiEffLib's: AffectNet's [-1, 1]), come from the first encoder that has them. \
            Needs the visual models (tools/fetch-default-models).
            """)

    @Argument(help: "An image or video file FFmpeg reads.")
    var input: String

    @OptionGroup var modelsOption: ModelsOption

    @Option(help: "Analyse every Nth frame.")
    var every = 1

    @Option(help: "Also write each analysed frame as a PNG with the box and landmarks drawn, into this directory.")
    var draw: String?

    @Option(help: "Also write each encoder's crop of each analysed frame (aligned, or the detector's box) as a PNG, into this directory.")
    var crops: String?

    @Flag(help: "Detect in every frame instead of tracking the face from the previous one.")
    var noTracking = false

    func validate() throws {
        guard every >= 1 else { throw ValidationError("--every must be 1 or more") }
    }

    func run() async throws {
        let directory = modelsOption.directory
        let visual: VisionModels
        do {
            visual = try VisionModels(directory: directory)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        var options = FacePipeline.Options()
        options.tracking = !noTracking
        var pipeline = visual.makePipeline(options: options)
        for directory in [draw, crops].compactMap({ $0 }) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure.runtime("\(directory): cannot create (\(error.localizedDescription))")
            }
        }
        let reader: VideoFileReader
        do {
            reader = try VideoFileReader(path: input)
        } catch {
            if case .notFound = error { throw CommandFailure.usage(error.description) }
            throw CommandFailure.runtime(error.description)
        }
        var index = 0
        while true {
            let frame: VideoFrame?
            do {
                frame = try reader.nextFrame()
            } catch {
                throw CommandFailure.runtime(error.description)
            }
            guard let frame else { break }
            defer { index += 1 }
            guard index % every == 0, let image = RGBImage(frame) else { continue }
            let analysis = pipeline.analyze(image)
            writeLine(Self.line(frame: index, time: frame.time.seconds, analysis: analysis, encoders: visual.encoders))
            if let draw, let face = analysis.primary {
                let png = FaceOverlay.draw(face, on: image)
                try Self.writePNG(png.pixels, width: png.width, height: png.height,
                                  to: (draw as NSString).appendingPathComponent(String(format: "frame%05d.png", index)))
            }
            if let crops, let face = analysis.primary {
                for encoder in visual.encoders {
                    let crop = pipeline.crop(image, detection: face.detection, landmarks: face.landmarks, for: encoder)
                    try Self.writePNG(crop.rgb.map { UInt8(min(max($0.rounded(), 0), 255)) }, width: crop.size, height: crop.size,
                                      to: (crops as NSString).appendingPathComponent(String(format: "frame%05d-%@.png", index, encoder.featureName)))
                }
            }
        }
        if index == 0 { throw CommandFailure.runtime("\(input): no video frames") }
    }

    static func writePNG(_ rgb: [UInt8], width: Int, height: Int, to path: String) throws {
        do {
            try Data(try PNGEncoder.encode(rgb: rgb, width: width, height: height)).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure.runtime("\(path): cannot write (\(error))")
        }
    }

    static func line(frame: Int, time: Double, analysis: FaceAnalysis, encoders: [any FaceEncoder]) -> String {
        var faces: [[String: Any]] = []
        if let face = analysis.primary {
            let d = face.detection
            var object: [String: Any] = [
                "box": [d.x1, d.y1, d.width, d.height].map { Int($0.rounded()) },
                "score": rounded(d.score, 4),
                "landmarks": face.landmarks.map { [rounded($0.x, 1), rounded($0.y, 1)] },
                "quality": ["verdict": face.quality.verdict.rawValue, "interocular": rounded(face.quality.interocular, 1),
                            "yaw": rounded(face.quality.yaw, 3), "fit_error": rounded(face.quality.fitError, 3)],
            ]
            var byEncoder: [String: Any] = [:]
            for encoder in encoders {
                guard let encoding = face.encodings[encoder.featureName] else { continue }
                let probs = Dictionary(uniqueKeysWithValues: zip(encoder.labels, encoding.probabilities.map { rounded(Double($0), 4) }))
                byEncoder[encoder.featureName] = probs
                if object["probs"] == nil { object["probs"] = probs }
                // The first encoder with valence and arousal, on its own scale (EmotiEffLib: [-1, 1]).
                if object["valence"] == nil, let valence = encoding.valence { object["valence"] = rounded(Double(valence), 4) }
                if object["arousal"] == nil, let arousal = encoding.arousal { object["arousal"] = rounded(Double(arousal), 4) }
            }
            if !byEncoder.isEmpty { object["encoders"] = byEncoder }
            faces.append(object)
        }
        let line: [String: Any] = ["frame": frame, "time": rounded(time, 3), "detected": analysis.faceCount,
                                   "tracked": analysis.tracked, "faces": faces]
        let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
