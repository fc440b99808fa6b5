/// Runs a checkpoint's `data.pkl` as data: the pickle opcodes (protocols 2–5) that
/// `torch.save` writes for state dicts and whole modules, with every Python name resolved by
/// ``TorchGlobal``'s allow-list and every call replaced by building the value the Python
/// function would have returned. Nothing is imported, called or executed; any other opcode is
/// ``TorchCheckpointError/unsupportedOpcode(file:opcode:offset:)``.
///
/// Bounded by its input: each opcode adds at most one value, every length is checked against
/// the bytes left, and storages and tensors are checked against the file's size before they
/// exist (see ``TorchTensorView``). Reference: CPython `Lib/pickle.py` (`_Unpickler`) and
/// `Lib/pickletools.py` for the opcodes; torch/serialization.py (`_load`, `persistent_load`)
/// for the persistent ids; torch/_utils.py for the rebuild functions.
struct RestrictedUnpickler {
    private let stream: UnsafeRawBufferPointer
    private let path: String
    private let fileBytes: Int
    private let archive: StoredZipArchive
    /// `<prefix>/`: storages are the records `<prefix>/data/<key>`.
    private let recordPrefix: String

    private var position = 0
    /// Where the opcode being run starts, for errors.
    private var opcodeOffset = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var storageIndexByKey: [String: Int] = [:]
    /// Every container, storage and tensor made.
    private(set) var heap = PickleHeap()

    init(stream: UnsafeRawBufferPointer, archive: StoredZipArchive, recordPrefix: String, fileBytes: Int, path: String) {
        self.stream = stream
        self.archive = archive
        self.recordPrefix = recordPrefix
        self.fileBytes = fileBytes
        self.path = path
    }

    /// Runs the stream to its STOP and returns the object pickled.
    mutating func load() throws(TorchCheckpointError) -> PickleValue {
        while true {
            opcodeOffset = position
            guard position < stream.count else { throw invalid("the stream ends before STOP") }
            let opcode = stream[position]
            position += 1
            if opcode == 0x2E { return try pop() }  // STOP
            // Each opcode's value is made first and pushed after: no access to the stack (or
            // the heap) is ever open while another step changes it.
            if let value = try run(opcode) { stack.append(value) }
        }
    }

    /// Runs one opcode (other than STOP); returns the value it pushes, if any.
    private mutating func run(_ opcode: UInt8) throws(TorchCheckpointError) -> PickleValue? {
        switch opcode {
        case 0x80:  // PROTO
            let version = try byte()
            guard version <= 5 else { throw invalid("pickle protocol \(version)") }
            return nil
        case 0x95:  // FRAME: a length hint; the stream is in memory already
            let length = try unsigned(8)
            guard length <= stream.count - position else { throw invalid("a frame of \(length) bytes runs past the stream") }
            return nil
        case 0x28:  // MARK
            marks.append(stack.count)
            return nil
        case 0x30:  // POP
            _ = try pop()
            return nil
        case 0x31:  // POP_MARK
            _ = try popMark()
            return nil
        case 0x32:  // DUP
            return try top()

        case 0x4E: return PickleValue.none  // NONE
        case 0x88: return .bool(true)  // NEWTRUE
        case 0x89: return .bool(false)  // NEWFALSE
        case 0x4A:  // BININT: signed 32-bit
            let bits = try unsigned(4)
            return .int(Int(Int32(bitPattern: UInt32(bits))))
        case 0x4B:  // BININT1
            let value = try byte()
            return .int(Int(value))
        case 0x4D:  // BININT2
            let value = try unsigned(2)
            return .int(value)
        case 0x8A:  // LONG1
            let length = try byte()
            return try long(length: Int(length))
        case 0x8B:  // LONG4
            let bits = try unsigned(4)
            let length = Int(Int32(bitPattern: UInt32(bits)))
            guard length >= 0 else { throw invalid("LONG4 of negative length \(length)") }
            return try long(length: length)
        case 0x47:  // BINFLOAT: big-endian double
            let bytes = try take(8)
            var bits: UInt64 = 0
            for index in bytes { bits = bits << 8 | UInt64(stream[index]) }
            return .float(Double(bitPattern: bits))

        case 0x58, 0x8C, 0x8D:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            let length = try unsigned(opcode == 0x58 ? 4 : opcode == 0x8C ? 1 : 8)
            let text = try text(length: length)
            return .string(text)
        case 0x54, 0x55:  // BINSTRING, SHORT_BINSTRING (Python 2 str): read as Latin-1
            let width = opcode == 0x54 ? 4 : 1
            let bits = try unsigned(width)
            let length = width == 4 ? Int(Int32(bitPattern: UInt32(bits))) : bits
            guard length >= 0 else { throw invalid("BINSTRING of negative length \(length)") }
            let bytes = try take(length)
            return .string(latin1(bytes))
        case 0x42, 0x43, 0x8E, 0x96:  // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
            let length = try unsigned(opcode == 0x42 ? 4 : opcode == 0x43 ? 1 : 8)
            let bytes = try take(length)
            return .bytes(Array(stream[bytes]))

        case 0x29: return heap.tuple([])  // EMPTY_TUPLE
        case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
            let items = try pop(Int(opcode) - 0x84)
            return heap.tuple(items)
        case 0x74:  // TUPLE
            let items = try popMark()
            return heap.tuple(items)
        case 0x5D, 0x8F: return heap.list([])  // EMPTY_LIST, EMPTY_SET
        case 0x6C, 0x91:  // LIST, FROZENSET
            let items = try popMark()
            return heap.list(items)
        case 0x61:  // APPEND
            let value = try pop()
            try append([value])
            return nil
        case 0x65, 0x90:  // APPENDS, ADDITEMS
            let values = try popMark()
            try append(values)
            return nil
        case 0x7D: return heap.dict()  // EMPTY_DICT
        case 0x64:  // DICT
            let items = try popMark()
            let dict = heap.dict()
            stack.append(dict)
            try setItems(items)
            return nil
        case 0x73:  // SETITEM
            let value = try pop()
            let key = try pop()
            try setItems([key, value])
            return nil
        case 0x75:  // SETITEMS
            let items = try popMark()
            try setItems(items)
            return nil

        case 0x71, 0x72, 0x94:  // BINPUT, LONG_BINPUT, MEMOIZE
            var key = memo.count
            if opcode != 0x94 { key = try unsigned(opcode == 0x71 ? 1 : 4) }
            let value = try top()
            memo[key] = value
            return nil
        case 0x68, 0x6A:  // BINGET, LONG_BINGET
            let key = try unsigned(opcode == 0x68 ? 1 : 4)
            return try recall(key)

        case 0x63:  // GLOBAL: "module\nname\n"
            let module = try line()
            let name = try line()
            return .global(try resolve(module: module, name: name))
        case 0x93:  // STACK_GLOBAL
            let name = try pop()
            let module = try pop()
            guard case .string(let moduleName) = module, case .string(let globalName) = name else {
                throw invalid("STACK_GLOBAL needs two strings, found \(module.kind) and \(name.kind)")
            }
            return .global(try resolve(module: moduleName, name: globalName))
        case 0x52:  // REDUCE: callable(*args)
            let arguments = try pop()
            let callable = try pop()
            return try call(callable, arguments)
        case 0x81, 0x92:  // NEWOBJ: cls.__new__(cls, *args); NEWOBJ_EX: the same with **kwargs
            if opcode == 0x92 { _ = try pop() }
            let arguments = try pop()
            let type = try pop()
            return try instantiate(type, arguments)
        case 0x62:  // BUILD: obj.__setstate__(state) or obj.__dict__.update(state)
            let state = try pop()
            let target = try top()
            try build(target, state: state)
            return nil
        case 0x51:  // BINPERSID: a storage, ("storage", type, key, location, numel)
            let id = try pop()
            return try persistentLoad(id)

        default:
            throw .unsupportedOpcode(file: path, opcode: opcode, offset: opcodeOffset)
        }
    }

    // MARK: Reading the stream

    private func invalid(_ reason: String) -> TorchCheckpointError {
        .invalidPickle(file: path, offset: opcodeOffset, reason: reason)
    }

    /// The next `count` bytes' indices, checked against the stream's end.
    private mutating func take(_ count: Int) throws(TorchCheckpointError) -> Range<Int> {
        guard count >= 0, count <= stream.count - position else {
            throw invalid("an argument of \(count) bytes runs past the end of the stream")
        }
        defer { position += count }
        return position..<(position + count)
    }

    private mutating func byte() throws(TorchCheckpointError) -> UInt8 { stream[try take(1).lowerBound] }

    /// An unsigned little-endian integer of `width` bytes, which must fit an Int.
    private mutating func unsigned(_ width: Int) throws(TorchCheckpointError) -> Int {
        var value: UInt64 = 0
        for index in try take(width).reversed() { value = value << 8 | UInt64(stream[index]) }
        guard value <= UInt64(Int.max) else { throw invalid("a length of \(value)") }
        return Int(value)
    }

    /// A two's-complement little-endian integer of `length` bytes (LONG1, LONG4).
    private mutating func long(length: Int) throws(TorchCheckpointError) -> PickleValue {
        let bytes = try take(length)
        guard !bytes.isEmpty else { return .int(0) }
        let negative = stream[bytes.upperBound - 1] >= 0x80
        // Wider than 8 bytes: fits an Int only if the high bytes are sign extension.
        if length > 8 {
            let fill: UInt8 = negative ? 0xFF : 0
            let low = bytes.lowerBound + 8
            guard bytes[low...].allSatisfy({ stream[$0] == fill }), (stream[low - 1] >= 0x80) == negative else { return .bigInteger }
        }
        var bits: UInt64 = negative ? ~0 : 0
        for index in bytes.prefix(8).reversed() { bits = bits << 8 | UInt64(stream[index]) }
        return .int(Int(Int64(bitPattern: bits)))
    }

    private mutating func text(length: Int) throws(TorchCheckpointError) -> String {
        let bytes = try take(length)
        guard let string = String(validating: UnsafeRawBufferPointer(rebasing: stream[bytes]), as: UTF8.self) else {
            throw invalid("a string that is not UTF-8")
        }
        return string
    }

    private func latin1(_ bytes: Range<Int>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar(stream[$0]) }))
    }

    /// A newline-terminated ASCII line (GLOBAL's arguments).
    private mutating func line() throws(TorchCheckpointError) -> String {
        guard let end = stream[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw invalid("GLOBAL's name has no end of line")
        }
        let bytes = try take(end - position)
        position += 1
        guard bytes.allSatisfy({ (0x20..<0x7F).contains(stream[$0]) }) else { throw invalid("GLOBAL's name is not printable ASCII") }
        return String(decoding: UnsafeRawBufferPointer(rebasing: stream[bytes]), as: UTF8.self)
    }

    // MARK: The stack

    private mutating func pop() throws(TorchCheckpointError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw invalid("the stack is empty") }
        return stack.removeLast()
    }

    /// The top `count` values, bottom first.
    private mutating func pop(_ count: Int) throws(TorchCheckpointError) -> [PickleValue] {
        guard stack.count - count >= (marks.last ?? 0) else { throw invalid("\(count) values needed, \(stack.count - (marks.last ?? 0)) on the stack") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private func top() throws(TorchCheckpointError) -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw invalid("the stack is empty") }
        return value
    }

    /// The values above the last MARK, which is removed.
    private mutating func popMark() throws(TorchCheckpointError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw invalid("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func recall(_ key: Int) throws(TorchCheckpointError) -> PickleValue {
        guard let value = memo[key] else { throw invalid("memo key \(key) was never stored") }
        return value
    }

    // MARK: Containers

    private mutating func append(_ values: [PickleValue]) throws(TorchCheckpointError) {
        let target = try top()
        guard case .list(let index) = target else { throw invalid("APPEND to \(target.kind), not a list") }
        heap.lists[index].append(contentsOf: values)
    }

    /// Alternating keys and values into the dict on top of the stack.
    private mutating func setItems(_ items: [PickleValue]) throws(TorchCheckpointError) {
        let target = try top()
        guard case .dict(let index) = target else { throw invalid("SETITEM on \(target.kind), not a dict") }
        guard items.count % 2 == 0 else { throw invalid("a key without a value") }
        for pair in stride(from: 0, to: items.count, by: 2) { heap.dicts[index].set(items[pair], items[pair + 1]) }
    }

    private mutating func build(_ target: PickleValue, state: PickleValue) throws(TorchCheckpointError) {
        switch target {
        case .object(let index):
            heap.objects[index].state = state
        case .dict, .tensor:
            // An OrderedDict's attributes (a state dict's `_metadata`), a tensor's Python
            // attributes: nothing a reader of tensors needs.
            break
        default:
            throw invalid("BUILD on \(target.kind)")
        }
    }

    // MARK: Names and calls

    private func resolve(module: String, name: String) throws(TorchCheckpointError) -> TorchGlobal {
        guard let global = TorchGlobal.resolve(module: module, name: name) else {
            throw .unsupportedGlobal(file: path, name: module + "." + name)
        }
        if case .unsupportedStorage(let type) = global { throw .unsupportedStorage(file: path, type: type) }
        return global
    }

    private func arguments(_ value: PickleValue, of global: TorchGlobal, count: ClosedRange<Int>) throws(TorchCheckpointError) -> [PickleValue] {
        guard case .tuple(let index) = value else { throw invalid("\(global.pythonName) called with \(value.kind), not a tuple") }
        let items = heap.tuples[index]
        guard count.contains(items.count) else {
            throw invalid("\(global.pythonName) called with \(items.count) arguments, expected \(count.lowerBound)…\(count.upperBound)")
        }
        return items
    }

    /// REDUCE: what `callable(*arguments)` returns, built without calling anything.
    private mutating func call(_ callable: PickleValue, _ argumentTuple: PickleValue) throws(TorchCheckpointError) -> PickleValue {
        guard case .global(let global) = callable else { throw invalid("REDUCE calls \(callable.kind), not a name") }
        switch global {
        case .rebuildTensorV2:
            return try rebuildTensor(try arguments(argumentTuple, of: global, count: 6...7), explicitDType: false)
        case .rebuildTensorV3:
            return try rebuildTensor(try arguments(argumentTuple, of: global, count: 7...8), explicitDType: true)
        case .rebuildParameter, .rebuildParameterWithState:
            let items = try arguments(argumentTuple, of: global, count: global == .rebuildParameter ? 3...3 : 4...4)
            guard case .tensor = items[0] else { throw invalid("\(global.pythonName) of \(items[0].kind), not a tensor") }
            return items[0]
        case .rebuildFromTypeV2:
            let items = try arguments(argumentTuple, of: global, count: 4...4)
            // Only a tensor rebuild inside, so this never nests.
            guard case .global(let inner) = items[0], [.rebuildTensorV2, .rebuildTensorV3, .rebuildParameter].contains(inner) else {
                throw invalid("\(global.pythonName) around \(items[0].kind), not a tensor rebuild")
            }
            return try call(items[0], items[2])
        case .orderedDict:
            let items = try arguments(argumentTuple, of: global, count: 0...1)
            let dict = heap.dict()
            guard case .dict(let index) = dict else { preconditionFailure() }
            if let pairs = items.first {
                guard let sequence = heap.sequence(pairs) else { throw invalid("OrderedDict of \(pairs.kind)") }
                for pair in sequence {
                    guard let keyValue = heap.sequence(pair), keyValue.count == 2 else { throw invalid("OrderedDict item \(pair.kind), not a pair") }
                    heap.dicts[index].set(keyValue[0], keyValue[1])
                }
            }
            return dict
        case .set:
            let items = try arguments(argumentTuple, of: global, count: 0...1)
            guard let source = items.first else { return heap.list([]) }
            guard let elements = heap.sequence(source) else { throw invalid("set of \(source.kind)") }
            return heap.list(elements)
        case .size:
            let items = try arguments(argumentTuple, of: global, count: 1...1)
            guard let extents = heap.sequence(items[0]) else { throw invalid("torch.Size of \(items[0].kind)") }
            return heap.tuple(extents)
        case .device:
            let items = try arguments(argumentTuple, of: global, count: 1...2)
            return heap.object("torch.device", arguments: items)
        case .encode:
            let items = try arguments(argumentTuple, of: global, count: 1...2)
            guard case .string(let text) = items[0], text.unicodeScalars.allSatisfy({ $0.value < 256 }) else {
                throw invalid("_codecs.encode of \(items[0].kind), not Latin-1 text")
            }
            return .bytes(text.unicodeScalars.map { UInt8($0.value) })
        case .reconstructor:
            let items = try arguments(argumentTuple, of: global, count: 3...3)
            guard case .global(.modelClass(let name)) = items[0] else {
                throw .unsupportedGlobal(file: path, name: "copyreg._reconstructor of \(items[0].kind)")
            }
            return heap.object(name, arguments: [])
        case .getattr:
            let items = try arguments(argumentTuple, of: global, count: 2...2)
            guard case .global(let owner) = items[0], case .string(let attribute) = items[1] else {
                // An attribute of data (a bound method): that would be a lookup at load time.
                throw .unsupportedGlobal(file: path, name: "builtins.getattr on \(items[0].kind)")
            }
            switch owner {
            case .modelClass(let name), .reference(let name): return .global(.reference(name + "." + attribute))
            default: throw .unsupportedGlobal(file: path, name: "builtins.getattr on \(owner.pythonName)")
            }
        case .modelClass(let name):
            // cls(*args) for model code (an enum member, a partial): recorded, not run.
            let items = try arguments(argumentTuple, of: global, count: 0...Int.max)
            return heap.object(name, arguments: items)
        case .storageType, .unsupportedStorage, .dtype, .reference:
            throw .unsupportedGlobal(file: path, name: global.pythonName)
        }
    }

    /// NEWOBJ: `cls.__new__(cls, *args)`, for the classes that may be made so.
    private mutating func instantiate(_ type: PickleValue, _ argumentTuple: PickleValue) throws(TorchCheckpointError) -> PickleValue {
        guard case .global(let global) = type else { throw invalid("NEWOBJ of \(type.kind), not a class") }
        switch global {
        case .modelClass(let name):
            let items = try arguments(argumentTuple, of: global, count: 0...Int.max)
            return heap.object(name, arguments: items)
        case .orderedDict: return heap.dict()
        case .set: return heap.list([])
        case .device: return heap.object("torch.device", arguments: [])
        default: throw .unsupportedGlobal(file: path, name: global.pythonName)
        }
    }

    // MARK: Storages and tensors

    /// torch/serialization.py `persistent_load`: `("storage", storage_type, key, location, numel)`
    /// names the record `data/<key>`, holding `numel` elements of the storage type's dtype.
    private mutating func persistentLoad(_ id: PickleValue) throws(TorchCheckpointError) -> PickleValue {
        guard case .tuple(let index) = id, heap.tuples[index].count == 5 else {
            throw invalid("a persistent id of \(id.kind), not a 5-tuple (\"storage\", type, key, location, numel)")
        }
        let items = heap.tuples[index]
        guard case .string("storage") = items[0] else { throw invalid("a persistent id of kind \(items[0].kind), not \"storage\"") }
        guard case .global(.storageType(let dtype)) = items[1] else { throw invalid("a storage whose type is \(items[1].kind)") }
        guard case .string(let key) = items[2] else { throw invalid("a storage key that is \(items[2].kind)") }
        guard case .int(let elements) = items[4], elements >= 0 else { throw invalid("a storage size that is \(items[4].kind)") }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes <= fileBytes else {
            throw .tooLarge(file: path, what: "storage '\(key)'", bytes: overflow ? Int.max : bytes, fileBytes: fileBytes)
        }
        if let existing = storageIndexByKey[key] {
            let storage = heap.storages[existing]
            guard storage.dtype == dtype, storage.data.count == bytes else {
                throw invalid("storage '\(key)' pickled as \(storage.dtype.rawValue) and as \(dtype.rawValue) × \(elements)")
            }
            return .storage(existing)
        }
        let record = recordPrefix + "data/" + key
        guard let entry = archive.entry(record) else { throw .missingRecord(file: path, record: record) }
        guard entry.data.count == bytes else {
            throw .storageSizeMismatch(file: path, storage: key, expectedBytes: bytes, foundBytes: entry.data.count)
        }
        heap.storages.append(TorchStorage(key: key, dtype: dtype, data: entry.data))
        storageIndexByKey[key] = heap.storages.count - 1
        return .storage(heap.storages.count - 1)
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`,
    /// or v3 with `dtype` after the hooks. The gradient flag and hooks do not matter to a reader.
    private mutating func rebuildTensor(_ items: [PickleValue], explicitDType: Bool) throws(TorchCheckpointError) -> PickleValue {
        guard case .storage(let storageIndex) = items[0] else { throw invalid("a tensor rebuilt from \(items[0].kind), not a storage") }
        let storage = heap.storages[storageIndex]
        guard case .int(let offset) = items[1] else { throw invalid("a storage offset that is \(items[1].kind)") }
        let shape = try integers(items[2], "size")
        let strides = try integers(items[3], "stride")
        var dtype = storage.dtype
        if explicitDType {
            switch items[6] {
            case .global(.dtype(let given)): dtype = given
            case .global(let other): throw .unsupportedStorage(file: path, type: other.pythonName)
            default: throw invalid("a tensor dtype that is \(items[6].kind)")
            }
        }
        let metadataIndex = explicitDType ? 7 : 6
        if items.count > metadataIndex {
            switch items[metadataIndex] {
            case .none: break
            case .dict(let index) where heap.dicts[index].count == 0: break
            default:
                throw .invalidTensor(file: path, storage: storage.key, reason: "it has metadata (conjugate or negative bits), which merd does not apply")
            }
        }
        let view = try TorchTensorView(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides,
                                       fileBytes: fileBytes, path: path)
        heap.tensors.append(view)
        return .tensor(heap.tensors.count - 1)
    }

    private func integers(_ value: PickleValue, _ what: String) throws(TorchCheckpointError) -> [Int] {
        guard let items = heap.sequence(value) else { throw invalid("a tensor \(what) that is \(value.kind), not a tuple") }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .int(let number) = item else { throw invalid("a tensor \(what) holding \(item.kind)") }
            result.append(number)
        }
        return result
    }
}
