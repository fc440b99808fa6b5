import Foundation
import NeuralKit
import Testing

/// A crafted checkpoint and the error it must give.
struct TorchMalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: @Sendable (String) -> TorchCheckpointError
    var testDescription: String { name }
}

@Suite("TorchCheckpoint on hostile and damaged files: a typed error each, nothing run")
struct TorchCheckpointMalformedTests {
    let scratch = ScratchDirectory()

    typealias P = PickleBytes
    static let fourFloats = SafeTensorsBytes.float32([1, 2, 3, 4])

    static func tensorFile(elements: Int32 = 4, size: [Int32] = [4], stride: [Int32] = [1], offset: Int32 = 0,
                           storage: [UInt8]? = fourFloats, storageType: String = "FloatStorage") -> [UInt8] {
        let tensor = P.tensor(key: "0", elements: elements, offset: offset, size: size, stride: stride, storageType: storageType)
        let pickle = P.stateDict([("w", tensor)])
        return StoredZipBytes.checkpoint(pickle: pickle, storages: storage.map { ["0": $0] } ?? [:])
    }

    static func pickleFile(_ pickle: [UInt8]) -> [UInt8] { StoredZipBytes.checkpoint(pickle: pickle) }

    /// A module whose `_modules` holds itself: a cycle no real network has.
    static let cyclicModule: [UInt8] = {
        let binPut0: [UInt8] = [0x71, 0], binGet0: [UInt8] = [0x68, 0], newObject: [UInt8] = [0x81]
        let setItem: [UInt8] = [0x73], build: [UInt8] = [0x62]
        return P.proto2 + P.global("torch.nn.modules.container", "Sequential") + P.emptyTuple + newObject + binPut0
            + P.emptyDict + P.mark + P.string("_parameters") + P.emptyDict + P.string("_modules") + P.emptyDict
            + P.string("0") + binGet0 + setItem + P.setItems + build + P.stop
    }()

    static let cases: [TorchMalformedCase] = [
        .init(name: "os.system called through REDUCE",
              bytes: pickleFile(P.proto2 + P.global("os", "system") + P.mark + P.string("touch /tmp/merd-pwned") + P.tuple + P.reduce + P.stop),
              expected: { .unsupportedGlobal(file: $0, name: "os.system") }),
        .init(name: "builtins.eval, Python 2 spelling",
              bytes: pickleFile(P.proto2 + P.global("__builtin__", "eval") + P.stop),
              expected: { .unsupportedGlobal(file: $0, name: "__builtin__.eval") }),
        .init(name: "a model-code function called",
              bytes: pickleFile(P.proto2 + P.global("torch.nn.functional", "relu") + P.emptyTuple + P.reduce + P.stop),
              expected: { .unsupportedGlobal(file: $0, name: "torch.nn.functional.relu") }),
        .init(name: "torch.load called",
              bytes: pickleFile(P.proto2 + P.global("torch", "load") + P.mark + P.string("x.pt") + P.tuple + P.reduce + P.stop),
              expected: { .unsupportedGlobal(file: $0, name: "torch.load") }),
        .init(name: "numpy array reconstruction",
              bytes: pickleFile(P.proto2 + P.global("numpy.core.multiarray", "_reconstruct") + P.stop),
              expected: { .unsupportedGlobal(file: $0, name: "numpy.core.multiarray._reconstruct") }),
        .init(name: "INST, an opcode that instantiates by name",
              bytes: pickleFile(P.proto2 + [0x69] + Array("os\nsystem\n".utf8) + P.stop),
              expected: { .unsupportedOpcode(file: $0, opcode: 0x69, offset: 2) }),
        .init(name: "EXT1 (the extension registry)",
              bytes: pickleFile(P.proto2 + P.emptyDict + [0x82, 1] + P.stop),
              expected: { .unsupportedOpcode(file: $0, opcode: 0x82, offset: 3) }),
        .init(name: "complex storage",
              bytes: tensorFile(storageType: "ComplexFloatStorage"),
              expected: { .unsupportedStorage(file: $0, type: "ComplexFloatStorage") }),
        .init(name: "compressed data.pkl",
              bytes: StoredZipBytes.archive([("archive/data.pkl", P.proto2 + P.emptyDict + P.stop)], method: 8),
              expected: { .compressedEntry(file: $0, entry: "archive/data.pkl", method: 8) }),
        .init(name: "saved big-endian",
              bytes: StoredZipBytes.checkpoint(pickle: P.proto2 + P.emptyDict + P.stop, byteOrder: "big"),
              expected: { .unsupportedByteOrder(file: $0, byteOrder: "big") }),
        .init(name: "a TorchScript archive",
              bytes: StoredZipBytes.checkpoint(pickle: P.proto2 + P.emptyDict + P.stop,
                                               extra: [("archive/constants.pkl", P.proto2 + P.emptyTuple + P.stop)]),
              expected: { .torchScript(file: $0) }),
        .init(name: "no data.pkl", bytes: StoredZipBytes.archive([("archive/version", Array("3\n".utf8))]),
              expected: { .missingRecord(file: $0, record: "<folder>/data.pkl") }),
        .init(name: "a storage without its record", bytes: tensorFile(storage: nil),
              expected: { .missingRecord(file: $0, record: "archive/data/0") }),
        .init(name: "a storage record shorter than its element count", bytes: tensorFile(storage: Array(fourFloats.prefix(12))),
              expected: { .storageSizeMismatch(file: $0, storage: "0", expectedBytes: 16, foundBytes: 12) }),
        .init(name: "a storage claiming more bytes than the file", bytes: tensorFile(elements: Int32.max),
              expected: { _ in .tooLarge(file: "", what: "", bytes: 0, fileBytes: 0) }),
        .init(name: "a tensor past the end of its storage", bytes: tensorFile(size: [5]),
              expected: { .invalidTensor(file: $0, storage: "0", reason: "") }),
        .init(name: "a tensor at an offset past its storage", bytes: tensorFile(size: [2], offset: 3),
              expected: { .invalidTensor(file: $0, storage: "0", reason: "") }),
        .init(name: "a negative stride", bytes: tensorFile(size: [2], stride: [-1], offset: 3),
              expected: { .invalidTensor(file: $0, storage: "0", reason: "") }),
        .init(name: "size and stride of different ranks", bytes: tensorFile(size: [2, 2], stride: [1]),
              expected: { .invalidTensor(file: $0, storage: "0", reason: "") }),
        .init(name: "a stride-0 tensor larger than the file", bytes: tensorFile(size: [1 << 20, 1 << 20], stride: [0, 0]),
              expected: { _ in .tooLarge(file: "", what: "", bytes: 0, fileBytes: 0) }),
        .init(name: "a stream without STOP", bytes: pickleFile(P.proto2 + P.emptyDict),
              expected: { .invalidPickle(file: $0, offset: 3, reason: "") }),
        .init(name: "REDUCE on an empty stack", bytes: pickleFile(P.proto2 + P.reduce + P.stop),
              expected: { .invalidPickle(file: $0, offset: 2, reason: "") }),
        .init(name: "a memo key never stored", bytes: pickleFile(P.proto2 + [0x68, 5] + P.stop),
              expected: { .invalidPickle(file: $0, offset: 2, reason: "") }),
        .init(name: "a string running past the stream", bytes: pickleFile(P.proto2 + [0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41] + P.stop),
              expected: { .invalidPickle(file: $0, offset: 2, reason: "") }),
        .init(name: "a list, not a state dict", bytes: pickleFile(P.proto2 + [0x5D] + P.stop),
              expected: { .noStateDict(file: $0, found: "") }),
        .init(name: "a dict of no tensors", bytes: pickleFile(P.proto2 + P.emptyDict + P.mark + P.string("epoch") + P.int(3) + P.setItems + P.stop),
              expected: { .noStateDict(file: $0, found: "") }),
        .init(name: "a module that contains itself", bytes: pickleFile(cyclicModule),
              expected: { .noStateDict(file: $0, found: "") }),
        .init(name: "a zip signature and nothing else", bytes: Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 30),
              expected: { .invalidZip(file: $0, reason: "") }),
        .init(name: "a central directory past the end",
              bytes: { var bytes = pickleFile(P.proto2 + P.emptyDict + P.stop); bytes[bytes.count - 6] = 0xFF; return bytes }(),
              expected: { .invalidZip(file: $0, reason: "") }),
    ]

    @Test("each crafted file gives its typed error, naming the file", arguments: cases)
    func malformed(_ test: TorchMalformedCase) {
        let path = scratch.write(test.bytes, name: "model.bin")
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(path: path) }
        guard let error else { return }
        #expect(Self.sameCase(error, test.expected(path)), "got: \(error)")
        #expect(error.description.hasPrefix(path + ":"), "the message names the file: \(error)")
        // Through openCheckpoint, as every loader opens files, the same error wrapped.
        #expect(throws: SafeTensorsError.pytorch(error)) { try openCheckpoint(path: path) }
    }

    /// Cases equal, comparing the fields a test can know exactly and not the free-text ones.
    static func sameCase(_ a: TorchCheckpointError, _ b: TorchCheckpointError) -> Bool {
        switch (a, b) {
        case (.invalidPickle(let f1, let o1, _), .invalidPickle(let f2, let o2, _)): return f1 == f2 && o1 == o2
        case (.invalidTensor(let f1, let s1, _), .invalidTensor(let f2, let s2, _)): return f1 == f2 && s1 == s2
        case (.invalidZip(let f1, _), .invalidZip(let f2, _)), (.noStateDict(let f1, _), .noStateDict(let f2, _)): return f1 == f2
        case (.tooLarge, .tooLarge): return true
        default: return a == b
        }
    }

    @Test("a hand-made checkpoint that is valid reads back (the crafting helpers are right)")
    func craftedValid() throws {
        let path = scratch.write(Self.tensorFile(size: [2, 2], stride: [1, 2]), name: "valid.bin")
        let torch = try TorchCheckpoint(path: path)
        #expect(torch.names == ["w"])
        #expect(try torch.tensor("w").scalars == [1, 3, 2, 4], "stride [1, 2] is the transpose of [[1, 2], [3, 4]]")
    }
}
