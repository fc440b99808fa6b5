/// A value the restricted unpickler builds. Containers live in a ``PickleHeap`` and are named
/// by index, so values are flat: however deeply nested or cyclic a hostile pickle is, releasing
/// it is one pass over arrays (no recursive deinit to overflow the stack, no reference cycle to
/// leak), and mutating a container (APPEND, SETITEM, BUILD after a memo reference was taken)
/// has Python's aliasing for free.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits (LONG1, LONG4): kept only to be refused where used.
    case bigInteger
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(Int)
    /// A list, or a set (kept as its elements in order).
    case list(Int)
    case dict(Int)
    /// An instance of a class of model code (``PickleObject``).
    case object(Int)
    case global(TorchGlobal)
    case storage(Int)
    case tensor(Int)

    /// What kind of value this is, for errors ("expected a tuple, found a dict").
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInteger: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .object: return "an object"
        case .global(let global): return "the name \(global.pythonName)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}

/// A Python dict (or OrderedDict) in insertion order. String keys are indexed, as SETITEM with
/// a key already present replaces its value; other keys (rare in checkpoints) are appended.
struct PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var indexOfString: [String: Int] = [:]

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let name) = key {
            if let index = indexOfString[name] {
                values[index] = value
                return
            }
            indexOfString[name] = keys.count
        }
        keys.append(key)
        values.append(value)
    }

    subscript(name: String) -> PickleValue? { indexOfString[name].map { values[$0] } }

    var count: Int { keys.count }
}

/// An object of model code (an `nn.Module`, an enum, a `functools.partial`): its class's name,
/// the arguments it was made with, and the state BUILD gave it (a module's `__dict__`).
struct PickleObject {
    let className: String
    let arguments: [PickleValue]
    var state: PickleValue?
}

/// Every container the unpickler made, named by index from ``PickleValue``.
struct PickleHeap {
    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [PickleDict] = []
    var objects: [PickleObject] = []
    var storages: [TorchStorage] = []
    var tensors: [TorchTensorView] = []

    mutating func tuple(_ items: [PickleValue]) -> PickleValue {
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    mutating func list(_ items: [PickleValue]) -> PickleValue {
        lists.append(items)
        return .list(lists.count - 1)
    }

    mutating func dict() -> PickleValue {
        dicts.append(PickleDict())
        return .dict(dicts.count - 1)
    }

    mutating func object(_ className: String, arguments: [PickleValue]) -> PickleValue {
        objects.append(PickleObject(className: className, arguments: arguments))
        return .object(objects.count - 1)
    }

    /// The items of a tuple or list, or nil for any other value.
    func sequence(_ value: PickleValue) -> [PickleValue]? {
        switch value {
        case .tuple(let index): return tuples[index]
        case .list(let index): return lists[index]
        default: return nil
        }
    }
}
