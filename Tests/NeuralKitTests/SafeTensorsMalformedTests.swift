import Foundation
import NeuralKit
import Testing

/// A malformed file and the error it must give.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: @Sendable (String) -> SafeTensorsError
    var testDescription: String { name }
}

@Suite("SafeTensors reader on malformed files")
struct SafeTensorsMalformedTests {
    let scratch = ScratchDirectory()

    static let twoFloats = SafeTensorsBytes.float32([1, 2])

    static func entry(_ name: String = "t", dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #"{"\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }

    static let cases: [MalformedCase] = [
        .init(name: "empty file", bytes: [], expected: { .tooShort(file: $0, bytes: 0) }),
        .init(name: "shorter than the length field", bytes: [1, 0, 0], expected: { .tooShort(file: $0, bytes: 3) }),
        .init(name: "header length past the end",
              bytes: SafeTensorsBytes.file(header: entry(), data: twoFloats, declaredLength: 500),
              expected: { .headerOutOfBounds(file: $0, headerBytes: 500, fileBytes: 8 + entry().utf8.count + 8) }),
        .init(name: "absurd header length", bytes: SafeTensorsBytes.file(header: "{}", data: [], declaredLength: UInt64.max),
              expected: { .headerTooLarge(file: $0, headerBytes: UInt64.max, limit: SafeTensorsFile.headerLimit) }),
        .init(name: "header not JSON", bytes: SafeTensorsBytes.file(header: "{not json", data: []),
              expected: { .invalidHeader(file: $0, reason: "") }),
        .init(name: "header not an object", bytes: SafeTensorsBytes.file(header: "[1,2]", data: []),
              expected: { .invalidHeader(file: $0, reason: "") }),
        .init(name: "entry not an object", bytes: SafeTensorsBytes.file(header: #"{"t":5}"#, data: []),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "missing dtype", bytes: SafeTensorsBytes.file(header: #"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "shape of strings", bytes: SafeTensorsBytes.file(header: entry(shape: #"["2"]"#), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "fractional offset", bytes: SafeTensorsBytes.file(header: entry(offsets: "[0,8.5]"), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "three offsets", bytes: SafeTensorsBytes.file(header: entry(offsets: "[0,4,8]"), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "descending offsets", bytes: SafeTensorsBytes.file(header: entry(offsets: "[8,0]"), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "negative extent", bytes: SafeTensorsBytes.file(header: entry(shape: "[-2]"), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "shape product overflows",
              bytes: SafeTensorsBytes.file(header: entry(shape: "[4294967296,4294967296]"), data: twoFloats),
              expected: { .invalidEntry(file: $0, tensor: "t", reason: "") }),
        .init(name: "unknown dtype", bytes: SafeTensorsBytes.file(header: entry(dtype: "F24"), data: twoFloats),
              expected: { .unknownDType(file: $0, tensor: "t", dtype: "F24") }),
        .init(name: "mistyped: F64 label on 8 bytes of [2]", bytes: SafeTensorsBytes.file(header: entry(dtype: "F64"), data: twoFloats),
              expected: { .sizeMismatch(file: $0, tensor: "t", shape: [2], dtype: "F64", expectedBytes: 16, foundBytes: 8) }),
        .init(name: "shape larger than its span", bytes: SafeTensorsBytes.file(header: entry(shape: "[3]"), data: twoFloats),
              expected: { .sizeMismatch(file: $0, tensor: "t", shape: [3], dtype: "F32", expectedBytes: 12, foundBytes: 8) }),
        .init(name: "truncated data", bytes: SafeTensorsBytes.file(header: entry(shape: "[4]", offsets: "[0,16]"), data: twoFloats),
              expected: { .outOfBounds(file: $0, tensor: "t", end: 16, dataBytes: 8) }),
        .init(name: "overlapping tensors",
              bytes: SafeTensorsBytes.file(
                header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                data: twoFloats),
              expected: { .overlap(file: $0, tensor: "b", other: "a") }),
        .init(name: "hole between tensors",
              bytes: SafeTensorsBytes.file(
                header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                data: SafeTensorsBytes.float32([1, 2, 3])),
              expected: { .unindexedBytes(file: $0, offset: 4, length: 4) }),
        .init(name: "trailing bytes after the last tensor",
              bytes: SafeTensorsBytes.file(header: entry(), data: twoFloats + [0, 0, 0]),
              expected: { .unindexedBytes(file: $0, offset: 8, length: 3) }),
        .init(name: "metadata not a string map",
              bytes: SafeTensorsBytes.file(header: #"{"__metadata__":{"n":1}}"#, data: []),
              expected: { .invalidEntry(file: $0, tensor: "__metadata__", reason: "") }),
    ]

    @Test("each malformed file gives its typed error, naming file and tensor", arguments: cases)
    func malformed(_ test: MalformedCase) {
        let path = scratch.write(test.bytes)
        let expected = test.expected(path)
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        guard let error else { return }
        #expect(Self.sameCase(error, expected), "got: \(error)")
        #expect(error.description.hasPrefix(path + ":"), "the message names the file: \(error)")
    }

    /// Cases equal, comparing every field but free-text reasons (the JSON library's wording).
    static func sameCase(_ a: SafeTensorsError, _ b: SafeTensorsError) -> Bool {
        switch (a, b) {
        case (.invalidHeader(let f1, _), .invalidHeader(let f2, _)): return f1 == f2
        case (.invalidEntry(let f1, let t1, _), .invalidEntry(let f2, let t2, _)): return f1 == f2 && t1 == t2
        default: return a == b
        }
    }

    @Test("missing file, directory")
    func notAFile() {
        #expect(throws: SafeTensorsError.notFound(file: scratch.path + "/absent")) {
            try SafeTensorsFile(path: scratch.path + "/absent")
        }
        #expect(throws: SafeTensorsError.cannotOpen(file: scratch.path, reason: "not a regular file")) {
            try SafeTensorsFile(path: scratch.path)
        }
    }

    /// A valid two-tensor file to damage.
    static func validFile() throws -> [UInt8] {
        var random = SeededRandom(seed: 21)
        return try SafeTensorsWriter.encode(
            [(name: "conv.weight", tensor: random.tensor([4, 2, 3])), (name: "conv.bias", tensor: random.tensor([4]))],
            metadata: ["format": "pt"], as: .f16)
    }

    @Test("every truncation of a valid file is rejected with a typed error")
    func everyTruncation() throws {
        let valid = try Self.validFile()
        #expect(throws: Never.self) { try SafeTensorsFile(path: scratch.write(valid, name: "whole")) }
        for length in 0..<valid.count {
            let path = scratch.write(Array(valid.prefix(length)), name: "cut-\(length)")
            #expect(throws: SafeTensorsError.self, "prefix of \(length) bytes") { try SafeTensorsFile(path: path) }
        }
    }

    @Test("random bytes and random damage never crash the reader")
    func fuzz() throws {
        var random = SeededRandom(seed: 2024)
        let valid = try Self.validFile()
        var rejected = 0, accepted = 0
        for round in 0..<1500 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:  // pure noise, sometimes with a plausible small length field
                bytes = (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if bytes.count > 8 && round % 2 == 0 { bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(bytes.count - 8).littleEndian, Array.init)) }
            case 1:  // a valid file with a few bytes flipped
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                }
            default:  // a valid file with a header digit changed
                var header = String(decoding: valid[8..<(8 + Int(valid[0]) + Int(valid[1]) * 256)], as: UTF8.self)
                let digits = header.indices.filter { header[$0].isNumber }
                let position = digits[Int.random(in: 0..<digits.count, using: &random)]
                header.replaceSubrange(position...position, with: String(Int.random(in: 0...9, using: &random)))
                bytes = Array(valid[0..<8]) + Array(header.utf8) + Array(valid[(8 + header.utf8.count)...])
            }
            let path = scratch.write(bytes, name: "fuzz")
            do {
                let file = try SafeTensorsFile(path: path)
                // Whatever opens must read back every float tensor in bounds.
                for entry in file.entries where entry.dtype.convertsToFloat32 {
                    #expect(try file.tensor(entry.name).count == entry.shape.reduce(1, *))
                }
                accepted += 1
            } catch {
                #expect(!error.description.isEmpty)
                rejected += 1
            }
        }
        #expect(rejected > 1000, "most damage is detected (\(rejected) rejected, \(accepted) accepted)")
    }
}
