import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One tensor's entry in a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public let dataRange: Range<Int>

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }
}

/// A safetensors file, memory-mapped and validated as a whole when opened.
///
/// Format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON mapping each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}`
/// (plus an optional `"__metadata__"` string map), then the data section. Opening checks
/// everything the format promises, so that reading a tensor afterwards cannot go out of
/// bounds: the header length, the JSON, each dtype, shape × dtype size = byte span, spans
/// in bounds, not overlapping, and covering the data section with no holes.
///
/// - Important: the mapping is read-only and private. If another process truncates the file
///   while it is open, touching the lost pages raises SIGBUS; model files are not expected
///   to change under a running daemon.
///
/// - Important: `@unchecked Sendable` because every stored property is set in `init` and never
///   changed, and the mapping it reads is read-only: any number of threads may read at once.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The largest header accepted, as in the reference implementation: a real header of a
    /// thousand tensors is well under a megabyte.
    public static let headerLimit = 100_000_000

    /// The path the file was opened from, used in every error.
    public let path: String
    /// Entries in file order (by data offset).
    public let entries: [SafeTensorsEntry]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Bytes before the data section: 8 + header length.
    public let dataOffset: Int
    /// The whole file's size.
    public let fileBytes: Int

    private let entriesByName: [String: Int]
    /// The mapping, unmapped when the last reader lets go of it.
    private let file: MappedFile
    /// `file`'s first byte.
    private let mapping: UnsafeRawPointer

    /// Opens and validates `path`.
    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            switch error {
            case .notFound: throw .notFound(file: path)
            case .cannotOpen(let reason): throw .cannotOpen(file: path, reason: reason)
            }
        }
        let size = file.bytes.count
        fileBytes = size
        guard size >= 8, let base = file.bytes.baseAddress else { throw .tooShort(file: path, bytes: size) }
        let parsed = try Self.parse(base: base, size: size, path: path)
        entries = parsed.entries
        metadata = parsed.metadata
        dataOffset = parsed.dataOffset
        self.file = file
        mapping = base
        entriesByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in file order.
    public var names: [String] { entries.map(\.name) }

    /// The entry of `name`, if the file has it.
    public func entry(_ name: String) -> SafeTensorsEntry? {
        entriesByName[name].map { entries[$0] }
    }

    /// The tensor `name`, converted to Float32.
    public func tensor(_ name: String) throws(SafeTensorsError) -> Tensor {
        guard let entry = entry(name) else { throw .missingTensor(file: path, tensor: name) }
        guard entry.dtype.convertsToFloat32 else {
            throw .unsupportedDType(file: path, tensor: name, dtype: entry.dtype.rawValue)
        }
        let source = mapping + dataOffset + entry.dataRange.lowerBound
        return Tensor(shape: entry.shape) { destination in
            guard let base = destination.baseAddress else { return }
            Self.convert(entry.dtype, from: source, element: 0, count: destination.count, into: base)
        }
    }

    /// The tensor `name`, which must have shape `expected`: the strict load a model's
    /// loader makes for each of its parameters.
    public func tensor(_ name: String, shape expected: [Int]) throws(SafeTensorsError) -> Tensor {
        guard let entry = entry(name) else { throw .missingTensor(file: path, tensor: name) }
        guard entry.shape == expected else {
            throw .shapeMismatch(file: path, tensor: name, expected: expected, found: entry.shape)
        }
        return try tensor(name)
    }

    /// Reads the 2-D tensor `name` ([rows, columns] in the file) into `destination`, row i
    /// of the result starting at `destination + i · leadingDimension`; with `transposed`
    /// the result is the transpose ([columns, rows]). Loaders use it to put weights straight
    /// into the layout they compute with (a fused or transposed matrix) without an
    /// intermediate copy, so loading a model needs no more memory than the model.
    public func readMatrix(
        _ name: String, rows: Int, columns: Int, transposed: Bool = false,
        into destination: UnsafeMutablePointer<Float>, leadingDimension: Int
    ) throws(SafeTensorsError) {
        guard let entry = entry(name) else { throw .missingTensor(file: path, tensor: name) }
        guard entry.shape == [rows, columns] else {
            throw .shapeMismatch(file: path, tensor: name, expected: [rows, columns], found: entry.shape)
        }
        guard entry.dtype.convertsToFloat32 else {
            throw .unsupportedDType(file: path, tensor: name, dtype: entry.dtype.rawValue)
        }
        let source = mapping + dataOffset + entry.dataRange.lowerBound
        let resultColumns = transposed ? rows : columns
        precondition(leadingDimension >= resultColumns, "leading dimension \(leadingDimension) < \(resultColumns) columns")
        // Row by row of the source, so the file is read sequentially once.
        var row = [Float](repeating: 0, count: columns)
        for i in 0..<rows {
            row.withUnsafeMutableBufferPointer { Self.convert(entry.dtype, from: source, element: i * columns, count: columns, into: $0.baseAddress!) }
            if transposed {
                for j in 0..<columns { destination[j * leadingDimension + i] = row[j] }
            } else {
                (destination + i * leadingDimension).update(from: row, count: columns)
            }
        }
    }

    /// Converts `count` elements starting at element `element` of `source` to Float32.
    private static func convert(_ dtype: SafeTensorsDType, from source: UnsafeRawPointer, element: Int, count: Int,
                                into destination: UnsafeMutablePointer<Float>) {
        ElementConversion.toFloat32(dtype, from: source, first: element, count: count, into: destination)
    }

    /// The raw bytes of `name`, as stored (for checksums and non-float tensors).
    public func rawBytes(_ name: String) throws(SafeTensorsError) -> UnsafeRawBufferPointer {
        guard let entry = entry(name) else { throw .missingTensor(file: path, tensor: name) }
        return UnsafeRawBufferPointer(start: mapping + dataOffset + entry.dataRange.lowerBound,
                                      count: entry.dataRange.count)
    }

    /// Tells the kernel that the mapped pages of `name` will not be read again (a loader
    /// has copied them), so they stop counting in the process's resident memory. Reading
    /// the tensor again still works: the pages come back from the file.
    public func releasePages(of name: String) {
        guard let entry = entry(name) else { return }
        file.releasePages(dataOffset + entry.dataRange.lowerBound..<dataOffset + entry.dataRange.upperBound)
    }

    // MARK: Validation

    private static func parse(base: UnsafeRawPointer, size: Int, path: String) throws(SafeTensorsError)
        -> (entries: [SafeTensorsEntry], metadata: [String: String], dataOffset: Int)
    {
        let headerBytes = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerBytes <= UInt64(headerLimit) else {
            throw .headerTooLarge(file: path, headerBytes: headerBytes, limit: headerLimit)
        }
        guard headerBytes <= UInt64(size - 8) else {
            throw .headerOutOfBounds(file: path, headerBytes: headerBytes, fileBytes: size)
        }
        let headerLength = Int(headerBytes)
        guard headerLength >= 2, base.load(fromByteOffset: 8, as: UInt8.self) == UInt8(ascii: "{") else {
            throw .invalidHeader(file: path, reason: "it does not start with '{'")
        }
        let json = Data(bytes: base + 8, count: headerLength)
        let header: RawHeader
        do {
            header = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let failure as EntryFailure {
            throw .invalidEntry(file: path, tensor: failure.name, reason: failure.reason)
        } catch {
            throw .invalidHeader(file: path, reason: Self.describe(error))
        }

        let dataOffset = 8 + headerLength
        let dataBytes = size - dataOffset
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(header.entries.count)
        for raw in header.entries {
            guard let dtype = SafeTensorsDType(rawValue: raw.dtype) else {
                throw .unknownDType(file: path, tensor: raw.name, dtype: raw.dtype)
            }
            guard raw.shape.allSatisfy({ $0 >= 0 }) else {
                throw .invalidEntry(file: path, tensor: raw.name, reason: "negative extent in shape \(raw.shape)")
            }
            guard raw.offsets.count == 2 else {
                throw .invalidEntry(file: path, tensor: raw.name, reason: "data_offsets must be [begin, end], got \(raw.offsets)")
            }
            let (begin, end) = (raw.offsets[0], raw.offsets[1])
            guard begin >= 0, end >= begin else {
                throw .invalidEntry(file: path, tensor: raw.name, reason: "data_offsets [\(begin), \(end)] are not an ascending range")
            }
            var expected = dtype.byteSize
            for extent in raw.shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
                guard !overflow else {
                    throw .invalidEntry(file: path, tensor: raw.name, reason: "shape \(raw.shape) is too large")
                }
                expected = product
            }
            guard expected == end - begin else {
                throw .sizeMismatch(file: path, tensor: raw.name, shape: raw.shape, dtype: dtype.rawValue,
                                    expectedBytes: expected, foundBytes: end - begin)
            }
            guard end <= dataBytes else {
                throw .outOfBounds(file: path, tensor: raw.name, end: end, dataBytes: dataBytes)
            }
            entries.append(SafeTensorsEntry(name: raw.name, dtype: dtype, shape: raw.shape, dataRange: begin..<end))
        }

        entries.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        var cursor = 0
        var previous: SafeTensorsEntry?
        for entry in entries {
            if entry.dataRange.lowerBound < cursor, let previous {
                throw .overlap(file: path, tensor: entry.name, other: previous.name)
            }
            if entry.dataRange.lowerBound > cursor {
                throw .unindexedBytes(file: path, offset: cursor, length: entry.dataRange.lowerBound - cursor)
            }
            cursor = entry.dataRange.upperBound
            if !entry.dataRange.isEmpty { previous = entry }
        }
        if cursor != dataBytes {
            throw .unindexedBytes(file: path, offset: cursor, length: dataBytes - cursor)
        }
        return (entries, header.metadata, dataOffset)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let where_ = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\(context.debugDescription)\(where_.isEmpty ? "" : " at \(where_)")"
        default:
            return "\(error)"
        }
    }
}

/// The header as JSON gives it, before any check but its form.
private struct RawHeader: Decodable {
    struct RawEntry {
        let name: String
        let dtype: String
        let shape: [Int]
        let offsets: [Int]
    }

    let entries: [RawEntry]
    let metadata: [String: String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NameKey.self)
        var entries: [RawEntry] = []
        var metadata: [String: String] = [:]
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw EntryFailure(name: key.stringValue, reason: "__metadata__ must map strings to strings")
                }
                continue
            }
            do {
                let fields = try container.nestedContainer(keyedBy: FieldKey.self, forKey: key)
                entries.append(RawEntry(
                    name: key.stringValue,
                    dtype: try fields.decode(String.self, forKey: .dtype),
                    shape: try Self.integers(fields, .shape, name: key.stringValue),
                    offsets: try Self.integers(fields, .dataOffsets, name: key.stringValue)))
            } catch let error as DecodingError {
                throw EntryFailure(name: key.stringValue, reason: Self.reason(error))
            }
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// A field of whole numbers. Read as Double and checked here, because Foundation's
    /// decoder reports a fraction or a huge number in an `[Int]` as "not valid JSON" for the
    /// whole header, which would hide the tensor at fault.
    private static func integers(_ fields: KeyedDecodingContainer<FieldKey>, _ key: FieldKey, name: String) throws -> [Int] {
        let values = try fields.decode([Double].self, forKey: key)
        // 2^53: every integer below it is exact in a Double; no real extent or offset is larger.
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 9_007_199_254_740_992 }) else {
            throw EntryFailure(name: name, reason: "field '\(key.stringValue)' must hold whole numbers below 2^53, got \(values)")
        }
        return values.map { Int($0) }
    }

    private static func reason(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let field = context.codingPath.dropFirst().first?.stringValue ?? "entry"
            return "field '\(field)' has the wrong type (dtype: string, shape and data_offsets: arrays of non-negative integers)"
        @unknown default:
            return "\(error)"
        }
    }

    private struct NameKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    private enum FieldKey: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

/// A header entry of the wrong form, named so the error can say which tensor it was.
private struct EntryFailure: Error {
    let name: String
    let reason: String
}
