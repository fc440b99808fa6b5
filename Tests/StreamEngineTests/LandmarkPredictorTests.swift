import Foundation
@testable import StreamEngine
import Testing

@Suite("68 landmarks equal dlib's")
struct LandmarkPredictorTests {
    @Test("Debian's shape_predictor_68 loads: 15 cascades of 500 depth-4 trees, 500 sampled pixels each, 68 points")
    func structure() {
        let model = VisionFixtures.landmarkPredictor
        #expect(model.parts == 68)
        #expect(model.cascades.count == 15)
        #expect(model.cascades.allSatisfy { $0.trees == 500 && $0.anchors.count == 500 })
        #expect(model.splitsPerTree == 15)
    }

    @Test("on GRID frames, for tight, loose, small, clipped and whole-frame rectangles: dlib's points, pixel for pixel")
    func parity() throws {
        let rectangles = try VisionFixtures.integers("dlib.rectangles")
        let expected = try VisionFixtures.integers("dlib.landmarks")
        let model = VisionFixtures.landmarkPredictor
        for q in 0..<(rectangles.count / 5) {
            let r = Array(rectangles[(5 * q)..<(5 * q + 5)])
            let image = VisionFixtures.frame(r[0])
            let points = model.predict(intensity: image.dlibIntensity(), width: image.width, height: image.height,
                                       rectangle: FaceRectangle(left: r[1], top: r[2], right: r[3], bottom: r[4]))
            // Reading the RGB frame directly (the pipeline's path) gives the same points.
            #expect(model.predict(image: image, rectangle: FaceRectangle(left: r[1], top: r[2], right: r[3], bottom: r[4])) == points)
            // dlib rounds each point to the nearest pixel (floor(v + 0.5)) when it returns it.
            let rounded = points.flatMap { [Int(($0.x + 0.5).rounded(.down)), Int(($0.y + 0.5).rounded(.down))] }
            #expect(rounded == Array(expected[(136 * q)..<(136 * q + 136)]), "query \(q): rectangle \(r)")
        }
    }
}

/// A tiny model in dlib's format, written the way dlib's serialize.h writes it.
struct DlibWriter {
    var bytes: [UInt8] = []

    mutating func unsigned(_ value: UInt64) {
        var v = value, body: [UInt8] = []
        repeat { body.append(UInt8(v & 0xFF)); v >>= 8 } while v != 0
        bytes += [UInt8(body.count)] + body
    }

    mutating func signed(_ value: Int64) {
        var v = value.magnitude, body: [UInt8] = []
        repeat { body.append(UInt8(v & 0xFF)); v >>= 8 } while v != 0
        bytes += [UInt8(body.count) | (value < 0 ? 0x80 : 0)] + body
    }

    mutating func float(_ value: Float) {
        // float_details: mantissa · 2^exponent with a 24-bit mantissa.
        guard value != 0 else { signed(0); signed(0); return }
        let exponent = Int(value.exponent) - 23
        signed(Int64(value.significand * Float(1 << 23)) * (value < 0 ? -1 : 1))
        signed(Int64(exponent))
    }

    mutating func column(_ values: [Float]) {
        signed(-Int64(values.count))
        signed(-1)
        values.forEach { float($0) }
    }

    /// Two points, one cascade of two depth-1 trees over two feature pixels.
    static func tinyModel(secondAnchor: UInt64 = 1) -> [UInt8] {
        var w = DlibWriter()
        w.signed(1)
        w.column([0.25, 0.5, 0.75, 0.5])
        w.unsigned(1)  // cascades
        w.unsigned(2)  // trees
        for t in 0..<2 {
            w.unsigned(1)  // splits
            w.unsigned(0); w.unsigned(1); w.float(Float(t) * 10)
            w.unsigned(2)  // leaves
            w.column([0.01, 0, -0.01, 0])
            w.column([0, 0.02, 0, -0.02])
        }
        w.unsigned(1); w.unsigned(2); w.unsigned(0); w.unsigned(secondAnchor)  // anchors
        w.unsigned(1); w.unsigned(2); w.float(0.1); w.float(0); w.float(-0.1); w.float(0.25)  // deltas
        return w.bytes
    }
}

@Suite("dlib model files: every damaged form is a clear error")
struct DlibFormatTests {
    static func load(_ bytes: [UInt8]) throws(DlibFormatError) -> LandmarkPredictor {
        var reader = DlibReader(bytes: bytes, file: "test.dat")
        return try LandmarkPredictor(reader: &reader)
    }

    @Test("a hand-written model loads and runs: the leaves move the points by dlib's rule")
    func tiny() throws {
        let model = try Self.load(DlibWriter.tinyModel())
        #expect(model.parts == 2 && model.initialShape == [0.25, 0.5, 0.75, 0.5])
        // Pixel 0 (left of point 0) bright, pixel 1 (right of point 1, below) dark: 255 − 0 > 0 → left leaf
        // in tree 0; 255 > 10 → left leaf in tree 1 too.
        var grey = [UInt8](repeating: 0, count: 100 * 100)
        for y in 0..<100 { for x in 0..<50 { grey[y * 100 + x] = 255 } }
        let points = model.predict(intensity: grey, width: 100, height: 100, rectangle: FaceRectangle(left: 0, top: 0, right: 99, bottom: 99))
        #expect(abs(points[0].x - 99 * 0.27) < 1e-4 && abs(points[1].x - 99 * 0.73) < 1e-4)
    }

    @Test("every truncation of a valid file is 'truncated', never a crash")
    func truncations() {
        let bytes = DlibWriter.tinyModel()
        for length in 0..<bytes.count {
            do {
                _ = try Self.load(Array(bytes[0..<length]))
                Issue.record("a \(length)-byte prefix loaded")
            } catch .truncated(let file, _, _) {
                #expect(file == "test.dat")
            } catch {
                Issue.record("a \(length)-byte prefix gave \(error) instead of truncated")
            }
        }
    }

    @Test("bad version, bad control byte, absurd count, bad index, trailing bytes, missing file")
    func malformed() {
        var version = DlibWriter.tinyModel()
        version[1] = 2
        #expect(throws: DlibFormatError.invalidModel(file: "test.dat", reason: "shape predictor format version 2; dlib and merd read version 1")) {
            try Self.load(version)
        }
        #expect(throws: DlibFormatError.self) { try Self.load([0x0F, 0, 0]) }  // 15-byte integer
        var count = DlibWriter()
        count.signed(1); count.column([0, 0]); count.unsigned(UInt64(1) << 40)
        do {
            _ = try Self.load(count.bytes)
            Issue.record("an absurd count loaded")
        } catch .truncated(_, _, let reading) {
            #expect(reading.hasPrefix("the number of cascades (1099511627776 elements"))
        } catch {
            Issue.record("\(error)")
        }
        #expect(throws: DlibFormatError.invalidModel(file: "test.dat", reason: "cascade 0 anchors a pixel to point 5; the shape has 2")) {
            try Self.load(DlibWriter.tinyModel(secondAnchor: 5))
        }
        #expect(throws: DlibFormatError.invalidModel(file: "test.dat", reason: "\(DlibWriter.tinyModel().count) bytes make a whole model but the file goes on (another kind of dlib file?)")) {
            try Self.load(DlibWriter.tinyModel() + [1, 0])
        }
        #expect(throws: DlibFormatError.notFound(file: "/nonexistent.dat")) { try LandmarkPredictor(path: "/nonexistent.dat") }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let garbage = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? Self.load(garbage)  // any error is fine; crashing or hanging is not
        }
    }
}
