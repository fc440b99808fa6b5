/// What is wrong with a checkpoint file, naming the file and, where there is one, the tensor.
///
/// The error of every ``CheckpointFile`` read whatever the format: the cases about a tensor a
/// loader asked for are format-neutral, and a PyTorch checkpoint's own damage arrives as
/// ``pytorch(_:)``.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case notFound(file: String)
    case cannotOpen(file: String, reason: String)
    /// Shorter than the 8-byte header length.
    case tooShort(file: String, bytes: Int)
    /// The header length field points past the end of the file.
    case headerOutOfBounds(file: String, headerBytes: UInt64, fileBytes: Int)
    /// The header length is larger than any real header (a corrupt or foreign file).
    case headerTooLarge(file: String, headerBytes: UInt64, limit: Int)
    /// The header is not a UTF-8 JSON object of the expected form.
    case invalidHeader(file: String, reason: String)
    /// One tensor's entry lacks a field or has one of the wrong type.
    case invalidEntry(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    /// shape × element size is not the byte span the entry claims.
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, foundBytes: Int)
    /// The entry's bytes lie outside the data section.
    case outOfBounds(file: String, tensor: String, end: Int, dataBytes: Int)
    case overlap(file: String, tensor: String, other: String)
    /// Bytes of the data section that no tensor covers (the format forbids holes).
    case unindexedBytes(file: String, offset: Int, length: Int)
    case missingTensor(file: String, tensor: String)
    /// The tensor's element type cannot be read as Float32.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// The tensor exists but does not have the shape the model needs.
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    /// Tensors a strict loader read past: the file holds parts the model has no place for.
    case unknownTensors(file: String, names: [String])
    /// A tensor holds NaN or infinite values (`count` of them): a damaged file, or weights
    /// saved from a training run that diverged. No model computes anything useful from them.
    case nonFinite(file: String, tensor: String, count: Int)
    case duplicateName(file: String, tensor: String)
    case writeFailed(file: String, reason: String)
    /// The file is a PyTorch checkpoint, and this is what is wrong with it.
    case pytorch(TorchCheckpointError)

    public var description: String {
        switch self {
        case .notFound(let file):
            return "\(file): no such file (check the path, or the models directory)"
        case .cannotOpen(let file, let reason):
            return "\(file): cannot open (\(reason))"
        case .tooShort(let file, let bytes):
            return "\(file): \(bytes) bytes is too short for a safetensors file (truncated download?)"
        case .headerOutOfBounds(let file, let headerBytes, let fileBytes):
            return "\(file): header claims \(headerBytes) bytes but the file has \(fileBytes) (truncated, or not safetensors)"
        case .headerTooLarge(let file, let headerBytes, let limit):
            return "\(file): header claims \(headerBytes) bytes, over the \(limit)-byte limit (not a safetensors file?)"
        case .invalidHeader(let file, let reason):
            return "\(file): header is not valid safetensors JSON (\(reason))"
        case .invalidEntry(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .unknownDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case .sizeMismatch(let file, let tensor, let shape, let dtype, let expectedBytes, let foundBytes):
            return "\(file): tensor '\(tensor)' is \(dtype) \(shape) (\(expectedBytes) bytes) but spans \(foundBytes) bytes"
        case .outOfBounds(let file, let tensor, let end, let dataBytes):
            return "\(file): tensor '\(tensor)' ends at byte \(end) of a \(dataBytes)-byte data section (truncated file?)"
        case .overlap(let file, let tensor, let other):
            return "\(file): tensors '\(other)' and '\(tensor)' overlap"
        case .unindexedBytes(let file, let offset, let length):
            return "\(file): \(length) data bytes at offset \(offset) belong to no tensor"
        case .missingTensor(let file, let tensor):
            return "\(file): no tensor '\(tensor)' (wrong model file, or a different architecture?)"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' is \(dtype), which cannot be read as float (F32, F16, BF16, F64 can)"
        case .shapeMismatch(let file, let tensor, let expected, let found):
            return "\(file): tensor '\(tensor)' has shape \(found), expected \(expected) (a model of another size?)"
        case .unknownTensors(let file, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(file): \(names.count) tensor(s) the model has no place for (\(shown)\(names.count > 5 ? ", …" : "")); a different model?"
        case .nonFinite(let file, let tensor, let count):
            return "\(file): tensor \(tensor) holds \(count) NaN or infinite value\(count == 1 ? "" : "s"); the file is damaged or was saved from a diverged training run, and merd will not load it"
        case .duplicateName(let file, let tensor):
            return "\(file): tensor name '\(tensor)' appears twice"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write (\(reason))"
        case .pytorch(let error):
            return error.description
        }
    }
}
