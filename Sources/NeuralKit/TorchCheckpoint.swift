/// A PyTorch checkpoint (`.bin`, `.pt`, `.pth` written by `torch.save` since torch 1.6), read
/// without Python and without running any of it: the zip archive is read in place over a
/// memory mapping, its `data.pkl` by a restricted unpickler that builds data only, and each
/// tensor is a checked view of a storage record, converted to Float32 when read. The tensors
/// are named as `state_dict()` names them, whether the file holds a state dict, a wrapper of
/// one or a whole pickled module.
///
/// Format (torch/serialization.py `_save`, `_load`): a zip archive of stored (uncompressed)
/// entries under one folder, `archive/` when torch wrote to a file object and the file's stem
/// when it wrote to a path (`pytorch_model/` in many published files): `data.pkl` (the
/// pickled object, each storage a persistent id `("storage", type, key, location, numel)`),
/// `data/<key>` (each storage's bytes), `version`, and in newer files `byteorder`,
/// `.format_version`, `.storage_alignment` and `.data/serialization_id`. The legacy formats
/// before it (non-zip pickle, tar) and TorchScript archives are refused with errors saying
/// what to do.
///
/// - Important: `@unchecked Sendable` because every stored property is set in `init` and never
///   changed, and the mapping it reads is read-only: any number of threads may read at once.
public final class TorchCheckpoint: CheckpointFile, @unchecked Sendable {
    /// Where the tensors were found in the pickled object.
    public struct Contents: Sendable, Equatable, CustomStringConvertible {
        /// The key of the training checkpoint's dict that held them (`state_dict`, `model`), or
        /// nil when the object itself was the state dict or module.
        public let wrapperKey: String?
        /// The class of the pickled module (`torch.save(model)`), or nil for a state dict.
        public let moduleClass: String?

        public init(wrapperKey: String?, moduleClass: String?) {
            self.wrapperKey = wrapperKey
            self.moduleClass = moduleClass
        }

        public var description: String {
            let what = moduleClass.map { "module \($0)" } ?? "state dict"
            return wrapperKey.map { "\(what) under '\($0)'" } ?? what
        }
    }

    /// The path the file was opened from, used in every error.
    public let path: String
    /// Every tensor, in the state dict's order.
    public let headers: [TensorHeader]
    /// State dict, wrapper or module.
    public let contents: Contents
    /// The archive's folder, `archive` or the stem of the name torch saved to.
    public let archiveFolder: String

    private let file: MappedFile
    private let views: [TorchTensorView]
    private let indexByName: [String: Int]

    static let zipSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    /// torch/serialization.py MAGIC_NUMBER 0x1950a86a20f9469cfc6c as pickled by the legacy
    /// format's first record: PROTO, LONG1 of 10 bytes, the number little-endian.
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Opens and validates `path`: the archive, the pickle, every storage and tensor view.
    public init(path: String) throws(TorchCheckpointError) {
        self.path = path
        do {
            file = try MappedFile(path: path)
        } catch {
            switch error {
            case .notFound: throw .notFound(file: path)
            case .cannotOpen(let reason): throw .cannotOpen(file: path, reason: reason)
            }
        }
        let bytes = file.bytes
        if let legacy = Self.legacyFormat(Array(bytes.prefix(512))) { throw .legacyFormat(file: path, format: legacy) }
        guard bytes.starts(with: Self.zipSignature) else { throw .notACheckpoint(file: path) }
        let archive = try StoredZipArchive(bytes, path: path)

        // The one top-level folder holding data.pkl; every record torch reads is beside it.
        let pickles = archive.entries.filter { entry in
            entry.name.hasSuffix("/data.pkl") && entry.name.firstIndex(of: "/") == entry.name.lastIndex(of: "/")
        }
        guard let pickle = pickles.first else { throw .missingRecord(file: path, record: "<folder>/data.pkl") }
        guard pickles.count == 1 else {
            throw .invalidZip(file: path, reason: "\(pickles.count) data.pkl records (\(pickles.map(\.name).joined(separator: ", ")))")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        archiveFolder = String(prefix.dropLast())
        if archive.entry(prefix + "constants.pkl") != nil { throw .torchScript(file: path) }
        // Without the record, torch reads the file as little-endian (its default since 2.1).
        if let order = archive.entry(prefix + "byteorder") {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[order.data]), as: UTF8.self)
            guard text == "little" else { throw .unsupportedByteOrder(file: path, byteOrder: text) }
        }

        let stream = UnsafeRawBufferPointer(rebasing: bytes[pickle.data])
        var unpickler = RestrictedUnpickler(stream: stream, archive: archive, recordPrefix: prefix, fileBytes: bytes.count, path: path)
        let root = try unpickler.load()
        let found = try TorchStateDict(root, heap: unpickler.heap, pickleBytes: stream.count, path: path)

        var headers: [TensorHeader] = []
        var views: [TorchTensorView] = []
        var indexByName: [String: Int] = [:]
        headers.reserveCapacity(found.names.count)
        for (name, tensor) in zip(found.names, found.tensors) {
            guard indexByName[name] == nil else { throw .noStateDict(file: path, found: "two tensors named '\(name)'") }
            let view = unpickler.heap.tensors[tensor]
            indexByName[name] = headers.count
            headers.append(TensorHeader(name: name, dtype: view.dtype, shape: view.shape))
            views.append(view)
        }
        self.headers = headers
        self.views = views
        self.indexByName = indexByName
        contents = found.contents
    }

    /// The legacy format `head` (a file's first bytes) starts with, if any.
    static func legacyFormat(_ head: [UInt8]) -> TorchCheckpointError.LegacyFormat? {
        if head.count >= 14, head[0] == 0x80, head[2] == 0x8A, head[3] == 0x0A, Array(head[4..<14]) == legacyMagic {
            return .pickle
        }
        // POSIX tar: "ustar" at byte 257 of the first header block.
        if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .tar }
        return nil
    }

    public var fileBytes: Int { file.bytes.count }

    /// Tensor names in the state dict's order.
    public var names: [String] { headers.map(\.name) }

    public func header(_ name: String) -> TensorHeader? { indexByName[name].map { headers[$0] } }

    /// The tensor `name`, converted to Float32; a non-contiguous view is gathered into
    /// row-major order.
    public func tensor(_ name: String) throws(SafeTensorsError) -> Tensor {
        let view = try floatView(name)
        let bytes = file.bytes
        return Tensor(shape: view.shape) { destination in
            guard let base = destination.baseAddress else { return }
            view.readFloat32(from: bytes, into: base)
        }
    }

    public func tensor(_ name: String, shape expected: [Int]) throws(SafeTensorsError) -> Tensor {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        guard views[index].shape == expected else {
            throw .shapeMismatch(file: path, tensor: name, expected: expected, found: views[index].shape)
        }
        return try tensor(name)
    }

    public func readMatrix(
        _ name: String, rows: Int, columns: Int, transposed: Bool = false,
        into destination: UnsafeMutablePointer<Float>, leadingDimension: Int
    ) throws(SafeTensorsError) {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        let view = views[index]
        guard view.shape == [rows, columns] else {
            throw .shapeMismatch(file: path, tensor: name, expected: [rows, columns], found: view.shape)
        }
        guard view.dtype.convertsToFloat32 else { throw .unsupportedDType(file: path, tensor: name, dtype: view.dtype.rawValue) }
        let resultColumns = transposed ? rows : columns
        precondition(leadingDimension >= resultColumns, "leading dimension \(leadingDimension) < \(resultColumns) columns")
        let source = file.bytes.baseAddress! + view.storageStart
        var row = [Float](repeating: 0, count: columns)
        for i in 0..<rows {
            row.withUnsafeMutableBufferPointer {
                ElementConversion.toFloat32(view.dtype, from: source, first: view.offset + i * view.strides[0], stride: view.strides[1],
                                            count: columns, into: $0.baseAddress!)
            }
            if transposed {
                for j in 0..<columns { destination[j * leadingDimension + i] = row[j] }
            } else {
                (destination + i * leadingDimension).update(from: row, count: columns)
            }
        }
    }

    public func releasePages(of name: String) {
        guard let index = indexByName[name] else { return }
        file.releasePages(views[index].span)
    }

    /// The elements of `name` as stored (any dtype, e.g. a batch norm's I64 step counter),
    /// little-endian, in row-major order.
    public func elementBytes(_ name: String) throws(SafeTensorsError) -> [UInt8] {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        return views[index].readBytes(from: file.bytes)
    }

    /// The storage record key `name` views: tensors saved as views of one tensor share it.
    package func storageKey(of name: String) -> String? { indexByName[name].map { views[$0].storageKey } }

    private func floatView(_ name: String) throws(SafeTensorsError) -> TorchTensorView {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        let view = views[index]
        guard view.dtype.convertsToFloat32 else { throw .unsupportedDType(file: path, tensor: name, dtype: view.dtype.rawValue) }
        return view
    }
}
