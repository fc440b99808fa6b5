/// The entries of a zip archive whose entries are stored uncompressed, located by reading its
/// central directory over the file's mapping: each entry's data is a byte range of the file,
/// so a 1 GB checkpoint is read in place, never copied or inflated.
///
/// Why not ZIPFoundation (available as a package): it reads entries through a `FILE*` into
/// `Data` (a copy of every storage), and its extraction API is made for deflated archives.
/// torch writes stored entries only (miniz's writer with 64-byte aligned data), so locating
/// them is all a reader needs: the end-of-central-directory record (its ZIP64 form too, which
/// torch always writes), the central directory, each local header's length. Every offset and
/// length is checked against the file before use. CRCs are not checked: that would read a
/// 1 GB checkpoint whole when it is opened; damage in `data.pkl` shows as a pickle error, and
/// a storage's bytes are as trustworthy as a safetensors file's.
///
/// Format: PKWARE APPNOTE.TXT 6.3 (sections 4.3.7 local header, 4.3.12 central directory
/// header, 4.3.14–4.3.16 ZIP64 and classic end records, 4.5.3 ZIP64 extra field).
struct StoredZipArchive {
    struct Entry {
        let name: String
        /// The entry's data, as a byte range of the file.
        let data: Range<Int>
    }

    /// Entries in central-directory order.
    let entries: [Entry]
    private let indexByName: [String: Int]

    func entry(_ name: String) -> Entry? { indexByName[name].map { entries[$0] } }

    private static let localHeaderSignature: UInt32 = 0x0403_4b50
    private static let centralHeaderSignature: UInt32 = 0x0201_4b50
    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64ExtraID: UInt16 = 0x0001

    /// Reads the archive in `file`; `path` names it in errors.
    init(_ file: UnsafeRawBufferPointer, path: String) throws(TorchCheckpointError) {
        func fail(_ reason: String) -> TorchCheckpointError { .invalidZip(file: path, reason: reason) }
        let size = file.count
        guard size >= 22 else { throw fail("\(size) bytes is shorter than a zip end record") }

        // The end record is the last 22 bytes plus a comment of up to 65,535 bytes.
        var endOffset = -1
        var candidate = size - 22
        while candidate >= max(0, size - 22 - 65_535) {
            if file.u32(candidate) == Self.endSignature, candidate + 22 + Int(file.u16(candidate + 20)) <= size {
                endOffset = candidate
                break
            }
            candidate -= 1
        }
        guard endOffset >= 0 else { throw fail("no end-of-central-directory record") }

        var entryCount = UInt64(file.u16(endOffset + 10))
        var directorySize = UInt64(file.u32(endOffset + 12))
        var directoryOffset = UInt64(file.u32(endOffset + 16))
        guard file.u16(endOffset + 4) == 0, file.u16(endOffset + 6) == 0 else { throw fail("a multi-disk archive") }
        // The ZIP64 end record, when its locator sits just before the classic one, holds the
        // true values (torch writes it always; the classic fields may be saturated).
        var directoryLimit = endOffset
        if endOffset >= 20, file.u32(endOffset - 20) == Self.zip64LocatorSignature {
            let recordOffset = file.u64(endOffset - 20 + 8)
            guard endOffset - 20 >= 56, recordOffset <= UInt64(endOffset - 20 - 56),
                  file.u32(Int(recordOffset)) == Self.zip64EndSignature else {
                throw fail("the ZIP64 end record is not where its locator points")
            }
            let record = Int(recordOffset)
            guard file.u32(record + 16) == 0, file.u32(record + 20) == 0 else { throw fail("a multi-disk archive") }
            entryCount = file.u64(record + 32)
            directorySize = file.u64(record + 40)
            directoryOffset = file.u64(record + 48)
            directoryLimit = record
        }
        guard directoryOffset <= UInt64(directoryLimit), directorySize <= UInt64(directoryLimit) - directoryOffset else {
            throw fail("the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the file")
        }
        // Each header is at least 46 bytes, which bounds the count before anything is reserved.
        guard entryCount <= directorySize / 46 else {
            throw fail("\(entryCount) entries cannot fit a \(directorySize)-byte central directory")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(Int(entryCount))
        var indexByName: [String: Int] = [:]
        var cursor = Int(directoryOffset)
        let directoryEnd = Int(directoryOffset + directorySize)
        for _ in 0..<Int(entryCount) {
            guard cursor + 46 <= directoryEnd, file.u32(cursor) == Self.centralHeaderSignature else {
                throw fail("central directory header \(entries.count) is damaged")
            }
            let flags = file.u16(cursor + 8)
            let method = file.u16(cursor + 10)
            var compressedSize = UInt64(file.u32(cursor + 20))
            var uncompressedSize = UInt64(file.u32(cursor + 24))
            let nameLength = Int(file.u16(cursor + 28))
            let extraLength = Int(file.u16(cursor + 30))
            let commentLength = Int(file.u16(cursor + 32))
            var localOffset = UInt64(file.u32(cursor + 42))
            let nameStart = cursor + 46
            let next = nameStart + nameLength + extraLength + commentLength
            guard next <= directoryEnd else { throw fail("central directory header \(entries.count) overruns the directory") }
            guard let name = String(validating: UnsafeRawBufferPointer(rebasing: file[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
            else { throw fail("entry \(entries.count) has a name that is not UTF-8") }

            // ZIP64 extended information: the saturated fields, in this order, when saturated.
            var extra = nameStart + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = file.u16(extra)
                let length = Int(file.u16(extra + 2))
                let body = extra + 4
                guard body + length <= extraEnd else { throw fail("entry '\(name)' has a damaged extra field") }
                if id == Self.zip64ExtraID {
                    var field = body
                    func wide(_ value: inout UInt64) throws(TorchCheckpointError) {
                        guard value == 0xFFFF_FFFF else { return }
                        guard field + 8 <= body + length else { throw fail("entry '\(name)' has a short ZIP64 field") }
                        value = file.u64(field)
                        field += 8
                    }
                    try wide(&uncompressedSize)
                    try wide(&compressedSize)
                    try wide(&localOffset)
                }
                extra = body + length
            }

            if flags & 1 != 0 { throw fail("entry '\(name)' is encrypted") }
            if method != 0 { throw .compressedEntry(file: path, entry: name, method: method) }
            guard compressedSize == uncompressedSize else {
                throw fail("stored entry '\(name)' claims \(compressedSize) stored but \(uncompressedSize) real bytes")
            }
            guard size >= 30, localOffset <= UInt64(size - 30), file.u32(Int(localOffset)) == Self.localHeaderSignature else {
                throw fail("entry '\(name)' has no local header at byte \(localOffset)")
            }
            let local = Int(localOffset)
            let dataStart = local + 30 + Int(file.u16(local + 26)) + Int(file.u16(local + 28))
            guard dataStart <= size, uncompressedSize <= UInt64(size - dataStart) else {
                throw fail("entry '\(name)' (\(uncompressedSize) bytes at \(dataStart)) runs past the end of the file")
            }
            guard indexByName[name] == nil else { throw fail("entry '\(name)' appears twice") }
            indexByName[name] = entries.count
            entries.append(Entry(name: name, data: dataStart..<(dataStart + Int(uncompressedSize))))
            cursor = next
        }
        self.entries = entries
        self.indexByName = indexByName
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian integers at a byte offset the caller has checked.
    func u16(_ offset: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
}
