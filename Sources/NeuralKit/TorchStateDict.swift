/// The named tensors of what a checkpoint pickled, named as `module.state_dict()` names them:
/// a state dict as it is (a dict or OrderedDict of name → tensor); the same under a wrapper's
/// `state_dict`, `model_state_dict`, `model` or `module` key (training scripts' checkpoints);
/// or a whole pickled `nn.Module` (`torch.save(model)`, as EmotiEffLib publishes timm models),
/// walked as torch/nn/modules/module.py `state_dict` walks it: each module's `_parameters`,
/// then its `_buffers` except those in `_non_persistent_buffers_set`, then its `_modules` in
/// order, names joined with dots, None entries skipped.
struct TorchStateDict {
    /// Names in the order the state dict has them, with each one's tensor (``PickleHeap/tensors`` index).
    private(set) var names: [String] = []
    private(set) var tensors: [Int] = []
    private(set) var contents = TorchCheckpoint.Contents(wrapperKey: nil, moduleClass: nil)

    /// Keys of a training checkpoint's dict under which the weights are, in the order tried.
    static let wrapperKeys = ["state_dict", "model_state_dict", "model", "module"]
    /// Deeper module nesting than any real network is taken for a cycle.
    static let depthLimit = 256
    /// Longer than any real tensor name (a few hundred bytes at most): a hostile pickle's.
    static let nameLimit = 4_096

    private let heap: PickleHeap
    private let path: String
    /// Modules visited and name bytes made, bounded by the pickle's size: a pickle that shares
    /// one submodule under two parents at every level would otherwise make 2^depth names.
    private var visitsLeft: Int
    private var nameBytesLeft: Int

    init(_ root: PickleValue, heap: PickleHeap, pickleBytes: Int, path: String) throws(TorchCheckpointError) {
        self.heap = heap
        self.path = path
        visitsLeft = pickleBytes + 1_000
        nameBytesLeft = 16 * pickleBytes + 1_000_000
        if try collect(root) { return }
        if case .dict(let index) = root {
            for key in Self.wrapperKeys {
                guard let value = heap.dicts[index][key] else { continue }
                if try collect(value) {
                    contents = TorchCheckpoint.Contents(wrapperKey: key, moduleClass: contents.moduleClass)
                    return
                }
            }
        }
        throw .noStateDict(file: path, found: describe(root))
    }

    /// Collects the tensors of `value` if it is a state dict or a module; false otherwise.
    private mutating func collect(_ value: PickleValue) throws(TorchCheckpointError) -> Bool {
        switch value {
        case .dict(let index):
            let dict = heap.dicts[index]
            let holdsTensors = dict.values.contains { if case .tensor = $0 { return true } else { return false } }
            guard holdsTensors || dict.count == 0 else { return false }
            for (key, value) in zip(dict.keys, dict.values) {
                guard case .tensor(let tensor) = value else { continue }  // an epoch count beside the weights
                guard case .string(let name) = key else {
                    throw .noStateDict(file: path, found: "a dict with a tensor under \(key.kind), not a name")
                }
                try add(name, tensor)
            }
            return true
        case .object(let index):
            guard moduleState(index) != nil else { return false }
            contents = TorchCheckpoint.Contents(wrapperKey: nil, moduleClass: heap.objects[index].className)
            try walk(module: index, prefix: "", depth: 0)
            return true
        default:
            return false
        }
    }

    /// A module's `__dict__`: BUILD's state, or its first half when `__getstate__` gave
    /// (dict, slots); nil unless it holds `_parameters` and `_modules`, as every `nn.Module` does.
    private func moduleState(_ index: Int) -> PickleDict? {
        var state = heap.objects[index].state
        if case .tuple(let tuple)? = state, heap.tuples[tuple].count == 2 { state = heap.tuples[tuple][0] }
        guard case .dict(let dict)? = state, heap.dicts[dict]["_parameters"] != nil, heap.dicts[dict]["_modules"] != nil else {
            return nil
        }
        return heap.dicts[dict]
    }

    private mutating func walk(module index: Int, prefix: String, depth: Int) throws(TorchCheckpointError) {
        let className = heap.objects[index].className
        guard depth <= Self.depthLimit, visitsLeft > 0 else {
            throw .noStateDict(file: path, found: "modules nested deeper than \(Self.depthLimit) or shared beyond the pickle's size (a cycle?) at '\(prefix)'")
        }
        visitsLeft -= 1
        guard prefix.utf8.count <= Self.nameLimit else {
            throw .noStateDict(file: path, found: "a submodule name longer than \(Self.nameLimit) bytes")
        }
        guard let state = moduleState(index) else {
            throw .noStateDict(file: path, found: "a submodule '\(prefix)' of class \(className) without _parameters and _modules")
        }
        var nonPersistent: Set<String> = []
        if let set = state["_non_persistent_buffers_set"], let names = heap.sequence(set) {
            for case .string(let name) in names { nonPersistent.insert(name) }
        }
        for (field, skipping) in [("_parameters", Set<String>()), ("_buffers", nonPersistent)] {
            guard let entries = state[field] else { continue }
            guard case .dict(let dict) = entries else {
                throw .noStateDict(file: path, found: "module '\(prefix)' (\(className)) whose \(field) is \(entries.kind)")
            }
            for (key, value) in zip(heap.dicts[dict].keys, heap.dicts[dict].values) {
                guard case .string(let name) = key else {
                    throw .noStateDict(file: path, found: "module '\(prefix)' (\(className)) with a \(field) key that is \(key.kind)")
                }
                switch value {
                case .none: continue  // `bias=False`: registered, absent from state_dict()
                case .tensor(let tensor): if !skipping.contains(name) { try add(prefix + name, tensor) }
                default: throw .noStateDict(file: path, found: "\(field) '\(prefix + name)' that is \(value.kind)")
                }
            }
        }
        guard case .dict(let children)? = state["_modules"] else {
            throw .noStateDict(file: path, found: "module '\(prefix)' (\(className)) whose _modules is not a dict")
        }
        for (key, value) in zip(heap.dicts[children].keys, heap.dicts[children].values) {
            guard case .string(let name) = key else {
                throw .noStateDict(file: path, found: "module '\(prefix)' (\(className)) with a child under \(key.kind)")
            }
            switch value {
            case .none: continue
            case .object(let child): try walk(module: child, prefix: prefix + name + ".", depth: depth + 1)
            default: throw .noStateDict(file: path, found: "submodule '\(prefix + name)' that is \(value.kind)")
            }
        }
    }

    private mutating func add(_ name: String, _ tensor: Int) throws(TorchCheckpointError) {
        guard name.utf8.count <= Self.nameLimit else {
            throw .noStateDict(file: path, found: "a tensor name longer than \(Self.nameLimit) bytes")
        }
        nameBytesLeft -= name.utf8.count
        guard nameBytesLeft >= 0 else {
            throw .noStateDict(file: path, found: "more tensor names than the pickle's size allows (a module shared at every level?)")
        }
        names.append(name)
        tensors.append(tensor)
    }

    private func describe(_ value: PickleValue) -> String {
        switch value {
        case .dict(let index):
            let keys = heap.dicts[index].keys.prefix(5).map { key -> String in
                if case .string(let name) = key { return "'\(name)'" }
                return key.kind
            }
            return "a dict of no tensors (keys \(keys.joined(separator: ", "))\(heap.dicts[index].count > 5 ? ", …" : ""))"
        case .object(let index):
            return "an object of class \(heap.objects[index].className) that is not an nn.Module"
        default:
            return value.kind
        }
    }
}
