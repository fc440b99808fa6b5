import Foundation
import NeuralKit
import Testing

/// Builds safetensors bytes by hand, independently of `SafeTensorsWriter`, so reader and
/// writer cannot share a misreading of the format.
enum SafeTensorsBytes {
    static func file(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        return bytes + json + data
    }

    static func float32(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }
}

/// A scratch directory per test, removed afterwards.
final class ScratchDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "merd-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ bytes: [UInt8], name: String = "model.safetensors") -> String {
        let file = path + "/" + name
        let written = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        precondition(written, "cannot write test file \(file)")
        return file
    }
}

@Suite("SafeTensors reading and writing")
struct SafeTensorsTests {
    let scratch = ScratchDirectory()

    @Test("reads a hand-built file: names, dtypes, shapes, values, metadata")
    func handBuilt() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},"# +
            #""a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        let path = scratch.write(SafeTensorsBytes.file(header: header, data: SafeTensorsBytes.float32([1, 2, 3, 4, 5, 6, -1, 0.5])))
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == ["a.weight", "b"])
        #expect(file.metadata == ["format": "pt"])
        #expect(file.entry("a.weight") == SafeTensorsEntry(name: "a.weight", dtype: .f32, shape: [2, 3], dataRange: 0..<24))
        let a = try file.tensor("a.weight", shape: [2, 3])
        #expect(a.shape == [2, 3] && a.scalars == [1, 2, 3, 4, 5, 6])
        #expect(try file.tensor("b").scalars == [-1, 0.5])
    }

    @Test("writer round trip in F32, F16 and BF16")
    func roundTrip() throws {
        var random = SeededRandom(seed: 12)
        let tensors = [("encoder.layers.0.attention.q_proj.weight", random.tensor([16, 16], in: -3...3)),
                       ("bias", random.tensor([16])), ("scalar", Tensor(shape: [], scalars: [42])),
                       ("empty", Tensor(shape: [0, 4]))]
        for (storage, tolerance) in [(SafeTensorsWriter.StorageType.f32, Tolerance.exact), (.f16, .float16), (.bf16, .bfloat16)] {
            let path = scratch.path + "/round-\(storage).safetensors"
            try SafeTensorsWriter.write(tensors.map { (name: $0.0, tensor: $0.1) }, metadata: ["source": "test"], as: storage, to: path)
            let file = try SafeTensorsFile(path: path)
            #expect(file.names == tensors.map(\.0), "\(storage)")
            #expect(file.metadata == ["source": "test"])
            #expect(file.dataOffset % 8 == 0, "data section is 8-byte aligned")
            for (name, tensor) in tensors {
                expectClose(try file.tensor(name), tensor.doubles, shape: tensor.shape, tolerance, "\(storage) \(name)")
            }
        }
    }

    @Test("F16 and BF16 decode known bit patterns")
    func halfPrecisionBits() throws {
        // F16 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504; BF16 0x3F80 = 1, 0xC040 = -3, 0x4049 = 3.140625.
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B]
        let bf16: [UInt8] = [0x80, 0x3F, 0x40, 0xC0, 0x49, 0x40]
        let header = #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[6,12]}}"#
        let file = try SafeTensorsFile(path: scratch.write(SafeTensorsBytes.file(header: header, data: f16 + bf16)))
        #expect(try file.tensor("h").scalars == [1, -2, 65504])
        #expect(try file.tensor("b").scalars == [1, -3, 3.140625])
    }

    @Test("strict reads name the missing tensor, the wrong shape and the unreadable dtype")
    func strictReads() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#
        let path = scratch.write(SafeTensorsBytes.file(header: header, data: [UInt8](repeating: 0, count: 16)))
        let file = try SafeTensorsFile(path: path)
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "v")) { try file.tensor("v") }
        #expect(throws: SafeTensorsError.shapeMismatch(file: path, tensor: "w", expected: [3], found: [2])) {
            try file.tensor("w", shape: [3])
        }
        #expect(throws: SafeTensorsError.unsupportedDType(file: path, tensor: "n", dtype: "I64")) { try file.tensor("n") }
        #expect(try file.rawBytes("n").count == 8)
    }

    @Test("the writer refuses duplicate and reserved names")
    func writerNames() {
        let t = Tensor(shape: [1], scalars: [1])
        #expect(throws: SafeTensorsError.duplicateName(file: "<memory>", tensor: "a")) {
            try SafeTensorsWriter.encode([(name: "a", tensor: t), (name: "a", tensor: t)])
        }
        #expect(throws: SafeTensorsError.duplicateName(file: "<memory>", tensor: "__metadata__")) {
            try SafeTensorsWriter.encode([(name: "__metadata__", tensor: t)])
        }
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write([(name: "a", tensor: t)], to: "/nonexistent-dir/x.safetensors")
        }
        guard case .writeFailed(let file, _) = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(file == "/nonexistent-dir/x.safetensors")
    }
}
