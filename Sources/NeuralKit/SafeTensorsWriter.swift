import CNeuralKernels
import Foundation

/// Writes tensors in the safetensors format, readable by `safetensors.torch.load_file` and
/// by ``SafeTensorsFile``.
public enum SafeTensorsWriter {
    /// Element types the writer can store Float32 values as.
    public enum StorageType: Sendable {
        case f32, f16, bf16

        var dtype: SafeTensorsDType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            }
        }
    }

    /// Writes `tensors` (in that order in the data section) and `metadata` to `path`,
    /// atomically: a reader never sees a half-written file.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
        as storage: StorageType = .f32, to path: String
    ) throws(SafeTensorsError) {
        var bytes = try encode(tensors, metadata: metadata, as: storage, file: path)
        do {
            // Written from the array itself, not a copy of it in a Data.
            try bytes.withUnsafeMutableBytes { raw in
                try Data(bytesNoCopy: raw.baseAddress!, count: raw.count, deallocator: .none).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        } catch {
            throw .writeFailed(file: path, reason: error.localizedDescription)
        }
    }

    /// The bytes of a safetensors file holding `tensors`; `file` names it in errors.
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
        as storage: StorageType = .f32, file: String = "<memory>"
    ) throws(SafeTensorsError) -> [UInt8] {
        var seen = Set<String>()
        var header: [String: HeaderEntry] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__", seen.insert(name).inserted else {
                throw .duplicateName(file: file, tensor: name)
            }
            let length = tensor.count * storage.dtype.byteSize
            header[name] = HeaderEntry(dtype: storage.dtype.rawValue, shape: tensor.shape, offsets: [offset, offset + length])
            offset += length
        }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json: [UInt8]
        do {
            json = Array(try encoder.encode(Header(entries: header, metadata: metadata)))
        } catch {
            throw .writeFailed(file: file, reason: "header: \(error)")
        }
        // Pad with spaces (allowed by the format) so the data section starts 8-byte aligned.
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json)
        // Each tensor's bytes in one append (converted first, where the type changes), not a
        // call per value: a fusion ensemble holds 19 M of them. (Saving it still takes ~0.5 s,
        // most of it the kernel copying 75 MB into the page cache.)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { values in
                switch storage {
                case .f32:
                    #if _endian(little)
                    bytes.append(contentsOf: UnsafeRawBufferPointer(values))
                    #else
                    append(values.map { $0.bitPattern.littleEndian })
                    #endif
                case .f16:
                    append(values.map { Float16($0).bitPattern.littleEndian })
                case .bf16:
                    // Round to nearest even as PyTorch converts, NaN kept, subnormals kept (the
                    // portable form: a file is written the same on every CPU).
                    let halves = [UInt16](unsafeUninitializedCapacity: values.count) { out, count in
                        if let source = values.baseAddress { nk_f32_to_bf16_reference(source, out.baseAddress!, values.count) }
                        count = values.count
                    }
                    append(halves.map { $0.littleEndian })
                }
            }
        }
        func append<T>(_ words: [T]) { words.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return bytes
    }

    private struct HeaderEntry: Encodable {
        let dtype: String
        let shape: [Int]
        let offsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case offsets = "data_offsets"
        }
    }

    private struct Header: Encodable {
        let entries: [String: HeaderEntry]
        let metadata: [String: String]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: NameKey.self)
            if !metadata.isEmpty { try container.encode(metadata, forKey: NameKey("__metadata__")) }
            for (name, entry) in entries { try container.encode(entry, forKey: NameKey(name)) }
        }
    }

    private struct NameKey: CodingKey {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
