#if canImport(Glibc)
import Glibc
#endif

/// What a checkpoint says about one tensor without reading it.
public struct TensorHeader: Sendable, Equatable {
    public let name: String
    /// The element type as stored (torch's dtypes under their safetensors names).
    public let dtype: SafeTensorsDType
    public let shape: [Int]

    public init(name: String, dtype: SafeTensorsDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// A file of named tensors that a model's loader reads: a safetensors file
/// (``SafeTensorsFile``) or a PyTorch checkpoint (``TorchCheckpoint``). Opened and validated
/// as a whole, so the reads below fail only for a name, shape or dtype the loader asked for.
///
/// Reads throw ``SafeTensorsError`` whatever the format: its accounting cases
/// (`missingTensor`, `shapeMismatch`, `unsupportedDType`, `unknownTensors`) name a file and a
/// tensor and say nothing format-specific, and every loader's error type already wraps it.
public protocol CheckpointFile: AnyObject, Sendable {
    /// The path the file was opened from, used in every error.
    var path: String { get }
    /// The whole file's size.
    var fileBytes: Int { get }
    /// Tensor names in the file's order.
    var names: [String] { get }
    /// Every tensor's header, in the file's order.
    var headers: [TensorHeader] { get }
    /// The header of `name`, if the file has it.
    func header(_ name: String) -> TensorHeader?
    /// The tensor `name`, converted to Float32 (from F32, F16, BF16 or F64).
    func tensor(_ name: String) throws(SafeTensorsError) -> Tensor
    /// The tensor `name`, which must have shape `expected`.
    func tensor(_ name: String, shape expected: [Int]) throws(SafeTensorsError) -> Tensor
    /// Reads the 2-D tensor `name` ([rows, columns] in the file) into `destination`, row i of
    /// the result at `destination + i · leadingDimension`; with `transposed`, its transpose.
    func readMatrix(_ name: String, rows: Int, columns: Int, transposed: Bool,
                    into destination: UnsafeMutablePointer<Float>, leadingDimension: Int) throws(SafeTensorsError)
    /// Lets the kernel drop the mapped pages of `name` (a loader has copied it).
    func releasePages(of name: String)
}

extension SafeTensorsFile: CheckpointFile {
    public var headers: [TensorHeader] { entries.map { TensorHeader(name: $0.name, dtype: $0.dtype, shape: $0.shape) } }

    public func header(_ name: String) -> TensorHeader? {
        entry(name).map { TensorHeader(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
    }
}

/// Opens the checkpoint at `path`, choosing the reader by content, not by name: a zip archive
/// or a legacy torch file is read as a PyTorch checkpoint (``TorchCheckpoint``; its errors
/// arrive as ``SafeTensorsError/pytorch(_:)``), anything else as safetensors. So a loader
/// accepts `pytorch_model.bin` as published as well as `model.safetensors`.
public func openCheckpoint(path: String) throws(SafeTensorsError) -> any CheckpointFile {
    let head = try readHead(path)
    guard CheckpointFormat(head: head) == .pytorch else { return try SafeTensorsFile(path: path) }
    do {
        return try TorchCheckpoint(path: path)
    } catch .notFound(let file) {
        throw .notFound(file: file)
    } catch .cannotOpen(let file, let reason) {
        throw .cannotOpen(file: file, reason: reason)
    } catch {
        throw .pytorch(error)
    }
}

/// The two families of checkpoint files, told apart by their first bytes.
enum CheckpointFormat {
    case safeTensors
    /// torch.save's zip archive, or one of torch's legacy formats (refused with a clear error).
    case pytorch

    init(head: [UInt8]) {
        // A safetensors file starts with its header's length and then '{'; a zip's bytes 8–9
        // are its compression method (0 or 8), never '{'.
        if head.count > 8, head[8] == UInt8(ascii: "{") {
            self = .safeTensors
        } else if head.starts(with: TorchCheckpoint.zipSignature) || TorchCheckpoint.legacyFormat(head) != nil {
            self = .pytorch
        } else {
            self = .safeTensors
        }
    }
}

/// The first 512 bytes of `path` (fewer for a shorter file): enough for the tar signature.
private func readHead(_ path: String) throws(SafeTensorsError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        let code = errno
        if code == ENOENT { throw .notFound(file: path) }
        throw .cannotOpen(file: path, reason: String(cString: strerror(code)))
    }
    defer { close(descriptor) }
    var head = [UInt8](repeating: 0, count: 512)
    let count = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 512, 0) }
    // A directory or unreadable file: the safetensors reader says so in its own words.
    return count > 0 ? Array(head.prefix(count)) : []
}
