import Foundation

/// What is wrong with a dlib-serialised file, with the byte offset and what was being read.
public enum DlibFormatError: Error, Equatable, CustomStringConvertible {
    case notFound(file: String)
    case cannotRead(file: String, reason: String)
    /// The file ends inside a value.
    case truncated(file: String, offset: Int, reading: String)
    /// A value's encoding is not one dlib writes (bad control byte, reserved exponent…).
    case malformed(file: String, offset: Int, reading: String, reason: String)
    /// The values decode but do not describe a model merd can run.
    case invalidModel(file: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let file):
            return "\(file): not found (Debian's libdlib-data installs /usr/share/dlib/shape_predictor_68_face_landmarks.dat)"
        case .cannotRead(let file, let reason):
            return "\(file): cannot read (\(reason))"
        case .truncated(let file, let offset, let reading):
            return "\(file): ends at byte \(offset) while reading \(reading) (truncated download?)"
        case .malformed(let file, let offset, let reading, let reason):
            return "\(file): byte \(offset), \(reading): \(reason) (not a dlib model file?)"
        case .invalidModel(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}

/// Reads values in dlib's portable binary serialisation (dlib/serialize.h,
/// dlib/float_details.h), the format of its `.dat` model files:
/// - integers: a control byte, low nibble = byte count (1…8), bit 7 = negative (signed
///   types only), then the magnitude's bytes, least significant first;
/// - floats: a signed int64 mantissa then a signed int16 exponent, value = mantissa · 2^exponent
///   (exponents 32000, 32001, 32002 stand for +∞, −∞, NaN);
/// - `std::vector`: the element count (unsigned) then the elements;
/// - `matrix`: rows and columns (signed, written negated by current dlib), then the elements
///   row by row.
struct DlibReader {
    let file: String
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(path: String) throws(DlibFormatError) {
        guard FileManager.default.fileExists(atPath: path) else { throw .notFound(file: path) }
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
        } catch {
            throw .cannotRead(file: path, reason: error.localizedDescription)
        }
        file = path
    }

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// An unsigned integer of at most `maxBytes` bytes (dlib ignores the reserved bits 0x70).
    mutating func unsigned(_ reading: @autoclosure () -> String, maxBytes: Int = 8) throws(DlibFormatError) -> UInt64 {
        try integer(sizeMask: 0x8F, kind: "an unsigned", reading(), maxBytes: maxBytes).magnitude
    }

    /// A signed integer of at most `maxBytes` bytes (bit 7 of the control byte: negative).
    mutating func signed(_ reading: @autoclosure () -> String, maxBytes: Int = 8) throws(DlibFormatError) -> Int64 {
        let start = offset
        let (control, magnitude) = try integer(sizeMask: 0x0F, kind: "a signed", reading(), maxBytes: maxBytes)
        guard magnitude <= UInt64(Int64.max) else {
            throw .malformed(file: file, offset: start, reading: reading(), reason: "integer out of range")
        }
        return control & 0x80 != 0 ? -Int64(magnitude) : Int64(magnitude)
    }

    /// The control byte and the little-endian magnitude that follows it; the byte count is the
    /// control byte under `sizeMask`.
    private mutating func integer(sizeMask: UInt8, kind: String, _ reading: @autoclosure () -> String, maxBytes: Int)
        throws(DlibFormatError) -> (control: UInt8, magnitude: UInt64)
    {
        let start = offset
        guard offset < bytes.count else { throw .truncated(file: file, offset: offset, reading: reading()) }
        let control = bytes[offset]
        let size = Int(control & sizeMask)
        guard size >= 1, size <= maxBytes else {
            throw .malformed(file: file, offset: start, reading: reading(),
                             reason: "control byte 0x\(String(control, radix: 16)) is not \(kind) integer of at most \(maxBytes) bytes")
        }
        guard offset + 1 + size <= bytes.count else { throw .truncated(file: file, offset: bytes.count, reading: reading()) }
        var magnitude: UInt64 = 0
        for i in stride(from: size, through: 1, by: -1) { magnitude = magnitude << 8 | UInt64(bytes[offset + i]) }
        offset += 1 + size
        return (control, magnitude)
    }

    /// A float as dlib writes it; its old ASCII form (bytes with bits 0x70 set) is refused.
    mutating func float(_ reading: @autoclosure () -> String) throws(DlibFormatError) -> Float {
        guard offset < bytes.count else { throw .truncated(file: file, offset: offset, reading: reading()) }
        guard bytes[offset] & 0x70 == 0 else {
            throw .malformed(file: file, offset: offset, reading: reading(), reason: "a float in dlib's pre-2013 text form, which merd does not read")
        }
        let mantissa = try signed(reading())
        let exponent = try signed(reading(), maxBytes: 2)
        switch exponent {
        case 32000: return .infinity
        case 32001: return -.infinity
        case 32002: return .nan
        default:
            guard exponent > -32768, exponent < 32000 else {
                throw .malformed(file: file, offset: offset, reading: reading(), reason: "float exponent \(exponent) out of range")
            }
            // ldexp((float)mantissa, exponent), as float_details converts to float.
            return scalbnf(Float(mantissa), Int32(exponent))
        }
    }

    /// A `std::vector` length, bounded so that a corrupt count cannot make merd allocate
    /// more than the file could hold (each element takes at least `minimumElementBytes`): a
    /// count the rest of the file cannot hold means the file ends early.
    mutating func count(_ reading: @autoclosure () -> String, minimumElementBytes: Int = 2) throws(DlibFormatError) -> Int {
        let value = try unsigned(reading())
        let remaining = bytes.count - offset
        guard value <= UInt64(remaining / max(minimumElementBytes, 1)) else {
            throw .truncated(file: file, offset: bytes.count, reading: "\(reading()) (\(value) elements, \(remaining) bytes left)")
        }
        return Int(value)
    }

    /// A column vector `matrix<float,0,1>`, appended to `values`; returns its length.
    @discardableResult
    mutating func floatColumn(into values: inout [Float], _ reading: @autoclosure () -> String) throws(DlibFormatError) -> Int {
        let start = offset
        let rows = try signed(reading()), columns = try signed(reading())
        let (r, c) = (abs(rows), abs(columns))
        guard c == 1 || r == 0 else {
            throw .malformed(file: file, offset: start, reading: reading(), reason: "matrix of \(r)x\(c) where a column vector was expected")
        }
        // Each float takes at least 4 bytes (two control bytes and two value bytes).
        guard r <= Int64((bytes.count - offset) / 4) else {
            throw .truncated(file: file, offset: bytes.count, reading: "\(reading()) (\(r) values, \(bytes.count - offset) bytes left)")
        }
        for _ in 0..<Int(r) { values.append(try float(reading())) }
        return Int(r)
    }
}
