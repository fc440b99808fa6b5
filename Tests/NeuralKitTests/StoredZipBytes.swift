/// Builds zip archives of stored entries by hand (classic end record, no ZIP64), independently
/// of the reader, to craft checkpoints torch would never write: a hostile pickle, a compressed
/// entry, a mutated `data.pkl` whose archive is still whole.
enum StoredZipBytes {
    /// `checksums: false` leaves every CRC zero (the reader does not check them; computing
    /// them bit by bit in a debug build would dominate a fuzz run).
    static func archive(_ entries: [(name: String, data: [UInt8])], method: UInt16 = 0, checksums: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        var directory: [UInt8] = []
        for (name, data) in entries {
            let offset = UInt32(bytes.count)
            let nameBytes = Array(name.utf8)
            let crc = checksums ? crc32(data) : 0
            bytes += le(UInt32(0x0403_4b50)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt16(0)) + le(UInt16(0))
            bytes += le(crc) + le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(nameBytes.count)) + le(UInt16(0))
            bytes += nameBytes + data
            directory += le(UInt32(0x0201_4b50)) + le(UInt16(20)) + le(UInt16(20)) + le(UInt16(0)) + le(method)
            directory += le(UInt16(0)) + le(UInt16(0)) + le(crc) + le(UInt32(data.count)) + le(UInt32(data.count))
            directory += le(UInt16(nameBytes.count)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0))
            directory += le(UInt32(0)) + le(offset) + nameBytes
        }
        let directoryOffset = UInt32(bytes.count)
        bytes += directory
        bytes += le(UInt32(0x0605_4b50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(entries.count)) + le(UInt16(entries.count))
        bytes += le(UInt32(directory.count)) + le(directoryOffset) + le(UInt16(0))
        return bytes
    }

    /// A checkpoint as torch lays it out: `<folder>/data.pkl`, one `data/<key>` per storage,
    /// `byteorder` and `version`.
    static func checkpoint(pickle: [UInt8], storages: [String: [UInt8]] = [:], folder: String = "archive",
                           byteOrder: String = "little", extra: [(name: String, data: [UInt8])] = []) -> [UInt8] {
        var entries: [(name: String, data: [UInt8])] = [(folder + "/data.pkl", pickle), (folder + "/byteorder", Array(byteOrder.utf8))]
        for key in storages.keys.sorted() { entries.append((folder + "/data/" + key, storages[key]!)) }
        entries.append((folder + "/version", Array("3\n".utf8)))
        return archive(entries + extra)
    }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// Pickle opcodes written by hand (CPython Lib/pickletools.py names), for crafted streams.
enum PickleBytes {
    static let proto2: [UInt8] = [0x80, 0x02]
    static let stop: [UInt8] = [0x2E]
    static let mark: [UInt8] = [0x28]
    static let emptyDict: [UInt8] = [0x7D]
    static let emptyTuple: [UInt8] = [0x29]
    static let tuple: [UInt8] = [0x74]
    static let reduce: [UInt8] = [0x52]
    static let setItems: [UInt8] = [0x75]
    static let binPersistentID: [UInt8] = [0x51]
    static let newFalse: [UInt8] = [0x89]

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func string(_ text: String) -> [UInt8] { [0x58] + StoredZipBytes.le(UInt32(text.utf8.count)) + Array(text.utf8) }
    static func int(_ value: Int32) -> [UInt8] { [0x4A] + StoredZipBytes.le(value) }

    static func ints(_ values: [Int32]) -> [UInt8] { mark + values.flatMap(int) + tuple }

    /// `_rebuild_tensor_v2(storage(key, FloatStorage, elements), offset, size, stride, False, OrderedDict())`.
    static func tensor(key: String, elements: Int32, offset: Int32, size: [Int32], stride: [Int32],
                       storageType: String = "FloatStorage") -> [UInt8] {
        let storage = mark + string("storage") + global("torch", storageType) + string(key) + string("cpu") + int(elements) + tuple
            + binPersistentID
        return global("torch._utils", "_rebuild_tensor_v2") + mark + storage + int(offset) + ints(size) + ints(stride)
            + newFalse + global("collections", "OrderedDict") + emptyTuple + reduce + tuple + reduce
    }

    /// `{name: tensor, …}` from the tensors' bytes.
    static func stateDict(_ items: [(name: String, tensor: [UInt8])]) -> [UInt8] {
        proto2 + emptyDict + mark + items.flatMap { string($0.name) + $0.tensor } + setItems + stop
    }
}
