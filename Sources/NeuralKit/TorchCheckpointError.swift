/// What is wrong with a PyTorch checkpoint (`torch.save`'s zip format), naming the file and,
/// where there is one, the record, opcode (with its byte offset in `data.pkl`), Python name or
/// storage at fault.
public enum TorchCheckpointError: Error, Equatable, CustomStringConvertible {
    /// The two formats torch wrote before its zip format.
    public enum LegacyFormat: String, Sendable, Equatable {
        /// torch 0.4–1.5: a pickle stream starting with the magic number 0x1950a86a20f9469cfc6c.
        case pickle
        /// torch before 0.4: a tar archive of `storages`, `tensors` and `pickle`.
        case tar
    }

    case notFound(file: String)
    case cannotOpen(file: String, reason: String)
    /// Neither a zip archive nor a legacy torch file.
    case notACheckpoint(file: String)
    case legacyFormat(file: String, format: LegacyFormat)
    /// A TorchScript archive (`torch.jit.save`): code, not a checkpoint of tensors.
    case torchScript(file: String)
    /// The zip structure itself is damaged (truncated download, or not written by torch).
    case invalidZip(file: String, reason: String)
    /// A deflated (or otherwise compressed) entry: torch stores every entry uncompressed, so
    /// the archive was rewritten by another tool.
    case compressedEntry(file: String, entry: String, method: UInt16)
    /// The archive lacks a record torch always writes (`data.pkl`, a storage's `data/<key>`).
    case missingRecord(file: String, record: String)
    /// Saved on a big-endian machine (the `byteorder` record); merd reads little-endian only.
    case unsupportedByteOrder(file: String, byteOrder: String)
    /// A pickle opcode outside the subset torch's state dicts and modules use.
    case unsupportedOpcode(file: String, opcode: UInt8, offset: Int)
    /// A Python name the restricted unpickler does not know as data: nothing is ever imported
    /// or called, so a checkpoint that needs one cannot be read.
    case unsupportedGlobal(file: String, name: String)
    /// The pickle stream is not well formed (stack underflow, unknown memo key, a value of the
    /// wrong kind where torch puts another).
    case invalidPickle(file: String, offset: Int, reason: String)
    /// A storage of an element type merd cannot hold (complex, quantized).
    case unsupportedStorage(file: String, type: String)
    /// The storage's record does not hold the bytes its pickled element count needs.
    case storageSizeMismatch(file: String, storage: String, expectedBytes: Int, foundBytes: Int)
    /// A tensor's size, stride or offset reaches outside its storage, or is negative.
    case invalidTensor(file: String, storage: String, reason: String)
    /// A claimed size larger than the whole file: refused before anything is allocated.
    case tooLarge(file: String, what: String, bytes: Int, fileBytes: Int)
    /// The pickled object holds no tensors in a form merd knows (state dict, a wrapper of one,
    /// or an `nn.Module`).
    case noStateDict(file: String, found: String)

    public var description: String {
        switch self {
        case .notFound(let file):
            return "\(file): no such file (check the path, or the models directory)"
        case .cannotOpen(let file, let reason):
            return "\(file): cannot open (\(reason))"
        case .notACheckpoint(let file):
            return "\(file): not a PyTorch checkpoint (no zip signature)"
        case .legacyFormat(let file, let format):
            let era = format == .pickle ? "before torch 1.6 (non-zip pickle)" : "before torch 0.4 (tar)"
            return "\(file): a checkpoint in the format of \(era); re-save it with a recent torch "
                + "(`torch.save(torch.load(f), g)`) or convert it with tools/convert_to_safetensors.py"
        case .torchScript(let file):
            return "\(file): a TorchScript archive (torch.jit.save), not a checkpoint of tensors; "
                + "save the model's state_dict() with torch.save instead"
        case .invalidZip(let file, let reason):
            return "\(file): not a readable zip archive (\(reason)); truncated download?"
        case .compressedEntry(let file, let entry, let method):
            return "\(file): zip entry '\(entry)' is compressed (method \(method)); torch stores entries uncompressed, "
                + "so re-save the checkpoint with torch.save"
        case .missingRecord(let file, let record):
            return "\(file): the archive has no '\(record)' record (truncated, or not written by torch.save)"
        case .unsupportedByteOrder(let file, let byteOrder):
            return "\(file): saved \(byteOrder)-endian; merd reads little-endian checkpoints (re-save on a little-endian machine)"
        case .unsupportedOpcode(let file, let opcode, let offset):
            let hex = String(opcode, radix: 16)
            return "\(file): data.pkl uses pickle opcode 0x\(hex.count == 1 ? "0" + hex : hex) at byte \(offset), "
                + "which the restricted unpickler does not run"
        case .unsupportedGlobal(let file, let name):
            return "\(file): data.pkl refers to '\(name)', which merd does not read as data (nothing is imported or run); "
                + "save the model's state_dict() instead"
        case .invalidPickle(let file, let offset, let reason):
            return "\(file): data.pkl is malformed at byte \(offset) (\(reason))"
        case .unsupportedStorage(let file, let type):
            return "\(file): storage type '\(type)' cannot be read (merd reads float, integer and bool storages)"
        case .storageSizeMismatch(let file, let storage, let expectedBytes, let foundBytes):
            return "\(file): storage '\(storage)' should hold \(expectedBytes) bytes but its record has \(foundBytes)"
        case .invalidTensor(let file, let storage, let reason):
            return "\(file): a tensor on storage '\(storage)': \(reason)"
        case .tooLarge(let file, let what, let bytes, let fileBytes):
            return "\(file): \(what) claims \(bytes) bytes, more than the whole \(fileBytes)-byte file"
        case .noStateDict(let file, let found):
            return "\(file): holds \(found), not a state dict, a {\"state_dict\": …} wrapper or a module"
        }
    }
}
