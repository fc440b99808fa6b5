import Foundation
@testable import NeuralKit
import Testing

/// A fixture checkpoint taken apart, to mutate at each level: bytes, zip structure, pickle.
private struct FuzzBase {
    let bytes: [UInt8]
    /// The archive's entries, to rebuild it around a mutated pickle.
    let entries: [(name: String, data: [UInt8])]
    let pickleIndex: Int
    /// Where data.pkl lies in the file.
    let pickle: Range<Int>
    /// The central directory and end records: everything after the last entry's data.
    let directory: Range<Int>

    init(_ name: String) throws {
        bytes = Array(try Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path(name))))
        let archive = try bytes.withUnsafeBytes { try StoredZipArchive($0, path: name) }
        let bytes = bytes
        entries = archive.entries.map { (name: $0.name, data: Array(bytes[$0.data])) }
        pickleIndex = try #require(archive.entries.firstIndex { $0.name.hasSuffix("/data.pkl") })
        pickle = archive.entries[pickleIndex].data
        directory = (archive.entries.map(\.data.upperBound).max() ?? 0)..<bytes.count
    }
}

@Suite("TorchCheckpoint under 10,000 seeded mutations: each loads or throws a typed error")
struct TorchCheckpointFuzzTests {
    let scratch = ScratchDirectory()

    /// Opcodes torch writes, to splice into a pickle where a random byte would mostly be refused at once.
    static let opcodes: [UInt8] = [0x80, 0x95, 0x2E, 0x28, 0x30, 0x31, 0x32, 0x4E, 0x88, 0x89, 0x4A, 0x4B, 0x4D, 0x8A, 0x47, 0x58,
                                   0x8C, 0x29, 0x85, 0x86, 0x87, 0x74, 0x5D, 0x6C, 0x61, 0x65, 0x7D, 0x64, 0x73, 0x75, 0x71,
                                   0x72, 0x94, 0x68, 0x6A, 0x63, 0x93, 0x52, 0x81, 0x62, 0x51, 0x8F, 0x90, 0x91]

    private static func mutate(_ base: FuzzBase, kind: Int, _ random: inout SeededRandom) -> [UInt8] {
        var bytes = base.bytes
        func position(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
        func noise(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        switch kind {
        case 0:  // byte flips anywhere
            for _ in 0..<Int.random(in: 1...4, using: &random) { bytes[position(0..<bytes.count)] ^= UInt8.random(in: 1...255, using: &random) }
        case 1:  // the pickle changed in place: flips, or a byte turned into another opcode
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = position(base.pickle)
                bytes[at] = Bool.random(using: &random) ? bytes[at] ^ UInt8.random(in: 1...255, using: &random) : opcodes.randomElement(using: &random)!
            }
        case 2:  // truncation
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
        case 3:  // bytes inserted
            bytes.insert(contentsOf: noise(Int.random(in: 1...16, using: &random)), at: position(0..<(bytes.count + 1)))
        case 4:  // a zip field overwritten with an extreme or random value
            let width = [2, 4, 8].randomElement(using: &random)!
            let at = position(base.directory.lowerBound..<(base.directory.upperBound - width + 1))
            let value: UInt64 = [0, 1, 0xFFFF, 0xFFFF_FFFF, UInt64.max, UInt64(bytes.count), UInt64.random(in: 0...UInt64.max, using: &random)]
                .randomElement(using: &random)!
            for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        default:  // the pickle restructured (slices deleted, duplicated, moved; opcodes and noise inserted), archive rebuilt whole
            var pickle = base.entries[base.pickleIndex].data
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let start = position(0..<pickle.count)
                let end = min(pickle.count, start + Int.random(in: 1...24, using: &random))
                switch Int.random(in: 0..<5, using: &random) {
                case 0: pickle.removeSubrange(start..<end)
                case 1: pickle.insert(contentsOf: pickle[start..<end], at: position(0..<(pickle.count + 1)))
                case 2: pickle.insert(opcodes.randomElement(using: &random)!, at: start)
                case 3: pickle.insert(contentsOf: noise(end - start), at: start)
                default: pickle.replaceSubrange(start..<end, with: pickle[start..<end].reversed())
                }
                if pickle.isEmpty { break }
            }
            var entries = base.entries
            entries[base.pickleIndex].data = pickle
            bytes = StoredZipBytes.archive(entries, checksums: false)
        }
        return bytes
    }

    /// The error's case, and its inner case for a PyTorch file's errors: a tally of how deep
    /// the mutations reached.
    static func kind(_ error: SafeTensorsError) -> String {
        if case .pytorch(let inner) = error { return "pytorch." + (Mirror(reflecting: inner).children.first?.label ?? "\(inner)") }
        return Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    @Test("state_dict.pt and module.pt, mutated 5,000 times each")
    func mutations() throws {
        let bases = [try FuzzBase("state_dict.pt"), try FuzzBase("module.pt")]
        var random = SeededRandom(seed: 0x7063_6b6c)
        let path = scratch.path + "/mutant.pt"
        var loaded = 0
        var refused: [String: Int] = [:]
        var slowest = Duration.zero
        let clock = ContinuousClock()
        for round in 0..<10_000 {
            let bytes = Self.mutate(bases[round % 2], kind: (round / 2) % 6, &random)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let start = clock.now
            do {
                let file = try openCheckpoint(path: path)
                for header in file.headers {
                    if header.dtype.convertsToFloat32 {
                        #expect(try file.tensor(header.name).shape == header.shape)
                    } else if let torch = file as? TorchCheckpoint {
                        #expect(try torch.elementBytes(header.name).count == header.shape.reduce(header.dtype.byteSize, *))
                    }
                }
                loaded += 1
            } catch {
                refused[Self.kind(error), default: 0] += 1
            }
            slowest = max(slowest, clock.now - start)
        }
        let tally = refused.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("torch checkpoint fuzz: \(loaded) loaded; refused: \(tally); slowest \(slowest)")
        #expect(loaded > 100, "mutations that keep the file valid (tensor bytes, names) load")
        // The mutations reach past the zip into the pickle, the storages and the tensor views.
        for reached in ["pytorch.invalidZip", "pytorch.invalidPickle", "pytorch.unsupportedOpcode", "pytorch.invalidTensor"] {
            #expect(refused[reached, default: 0] > 0, "\(reached): \(tally)")
        }
        #expect(slowest < .seconds(2), "no input makes the reader work for long")
    }
}
