import Foundation

/// The one JSON configuration of protocol v1, for every line the daemon writes and every line
/// a client reads: sorted keys (stable lines, diffable logs), slashes unescaped (device paths
/// read as written).
public enum EventCoding {
    // JSONEncoder and JSONDecoder are Sendable and keep no state between calls.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    static let decoder = JSONDecoder()

    /// `value` as one line of JSON (no newline).
    ///
    /// - Important: The protocol's types write only finite numbers (a number that cannot be
    ///   computed is null), so encoding cannot fail; a failure is a bug in an `encode(to:)`.
    public static func line(_ value: some Encodable) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            preconditionFailure("MerdEvents: \(type(of: value)) did not encode (\(error)); its encode(to:) must write only finite numbers")
        }
    }

    /// `T` from one line of JSON, or why the line is not one.
    public static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws(MessageDecodingError) -> T {
        do {
            return try decoder.decode(T.self, from: Data(line))
        } catch let error as DecodingError {
            throw MessageDecodingError(error)
        } catch {
            throw MessageDecodingError(description: "\(error)")
        }
    }
}

/// Why a line is not a message of the protocol: names the field and what was wrong with it.
public struct MessageDecodingError: Error, Equatable, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }

    init(_ error: DecodingError) {
        /// `'modalities.face'`, `'box[1]'`.
        func path(_ keys: [any CodingKey]) -> String {
            guard !keys.isEmpty else { return "the line" }
            let joined = keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return "'\(joined.drop { $0 == "." })'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            description = "\(path(context.codingPath + [key])) is missing"
        case .valueNotFound(_, let context):
            description = "\(path(context.codingPath)) is null"
        case .typeMismatch(let type, let context):
            description = "\(path(context.codingPath)) is not \(Self.name(of: type))"
        case .dataCorrupted(let context):
            description = "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            description = "\(error)"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "a list"
        default: return "an object"
        }
    }
}

/// A key chosen at run time: emotion labels, source and model names.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ stringValue: String) { self.stringValue = stringValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedEncodingContainer {
    /// `value`, or an explicit `null`: the contract's nullable fields are always present
    /// (JSONEncoder would leave a nil out).
    mutating func encodeOrNull(_ value: (some Encodable)?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension Double {
    /// Rounded to 1/`scale` (1000: milliseconds or 3 places), the way every number on the
    /// wire is.
    func rounded(scale: Double) -> Double { (self * scale).rounded() / scale }

    /// Self when finite: a number that cannot be computed goes on the wire as null.
    var finite: Double? { isFinite ? self : nil }
}
