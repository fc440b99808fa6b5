/// What a Python name in a checkpoint's pickle (`GLOBAL`, `STACK_GLOBAL`) means to the
/// restricted unpickler: an allow-list resolved by name alone. Nothing is imported and nothing
/// named is ever called; `REDUCE` and `NEWOBJ` on these build plain data in Swift (a tensor
/// view, a dict, an opaque object), following what the Python function would have returned
/// (torch/_utils.py, torch/serialization.py).
///
/// Names of model code (`torch.nn.…`, `timm.…`, a script's `__main__`) are allowed as inert
/// names: a class becomes an opaque object whose `__dict__` BUILD fills (how `torch.save(model)`
/// pickles a module), and any other name (an activation function kept as an attribute) stays
/// a name that nothing may call. Every other name (`os.system`, `builtins.eval`, numpy) is
/// refused with ``TorchCheckpointError/unsupportedGlobal(file:name:)``.
enum TorchGlobal: Equatable {
    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_tensor_v3(…, backward_hooks, dtype[, metadata])`: the dtype given,
    /// on an `UntypedStorage` (how dtypes without a legacy storage class are saved).
    case rebuildTensorV3
    /// `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`: the tensor itself.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, backward_hooks, state)`.
    case rebuildParameterWithState
    /// `torch._tensor._rebuild_from_type_v2(func, new_type, args, state)`: `func(*args)`, for a
    /// tensor with Python attributes.
    case rebuildFromTypeV2
    case orderedDict
    /// `builtins.set` / `frozenset`, kept as a list of their elements.
    case set
    /// `torch.Size(tuple)`: the tuple.
    case size
    /// `torch.device(…)`: an opaque object.
    case device
    /// `_codecs.encode(text, "latin1")`: how protocol 2 pickles `bytes`.
    case encode
    /// `copyreg._reconstructor(cls, base, state)`: an object of `cls`, as protocols 0–1 make them.
    case reconstructor
    /// `builtins.getattr(name, attribute)` on a name: how `torch.sigmoid` and other C functions
    /// pickle. Gives another inert name; never looks anything up in data.
    case getattr
    /// `torch.FloatStorage` and the other legacy typed storages, and `UntypedStorage` (bytes).
    case storageType(SafeTensorsDType)
    /// A legacy storage class of an element type merd cannot hold (complex, quantized).
    case unsupportedStorage(String)
    /// `torch.float32` and the other dtypes merd knows.
    case dtype(SafeTensorsDType)
    /// A class of model code (dotted name): instantiated as an opaque object, never run.
    case modelClass(String)
    /// Any other name of model code (dotted): an inert value.
    case reference(String)

    /// The allow-list: nil when `module.name` is not known as data or model code.
    static func resolve(module: String, name: String) -> TorchGlobal? {
        let module = module == "__builtin__" ? "builtins" : module  // protocol 2 writes Python 2's name
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromTypeV2
        case ("collections", "OrderedDict"): return .orderedDict
        case ("builtins", "set"), ("builtins", "frozenset"): return .set
        case ("builtins", "getattr"): return .getattr
        case ("builtins", "object"): return .reference("builtins.object")
        case ("torch", "Size"): return .size
        case ("torch", "device"): return .device
        case ("_codecs", "encode"): return .encode
        case ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"): return .reconstructor
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): return .storageType(.u8)
        case ("functools", "partial"): return .modelClass("functools.partial")
        case ("torch", "Tensor"), ("torch._tensor", "Tensor"): return .modelClass("torch.Tensor")
        // C functions (torch.sigmoid) pickle as getattr on this class.
        case ("torch._C", "_VariableFunctionsClass"): return .reference("torch._C._VariableFunctionsClass")
        default: break
        }
        if module == "torch" {
            if let dtype = storageTypes[name] { return .storageType(dtype) }
            if name.hasSuffix("Storage") { return .unsupportedStorage(name) }
            if let dtype = dtypes[name] { return .dtype(dtype) }
            // Functions of the torch namespace (torch.tanh as an attribute): names, never called.
            if name.first?.isLowercase == true { return .reference("torch.\(name)") }
            return nil
        }
        guard modelCodeModules.contains(where: { module == $0 || module.hasPrefix($0 + ".") }) else { return nil }
        let qualified = module + "." + name
        return name.first?.isUppercase == true ? .modelClass(qualified) : .reference(qualified)
    }

    /// Packages whose classes are model code, pickled by `torch.save(model)`.
    static let modelCodeModules = ["torch.nn", "timm", "torchvision", "torchaudio", "transformers", "__main__"]

    /// `torch.<name>Storage`, as `torch.storage._dtype_to_storage_type_map` names them.
    static let storageTypes: [String: SafeTensorsDType] = [
        "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// `torch.<name>` dtypes, with their aliases.
    static let dtypes: [String: SafeTensorsDType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16,
        "float64": .f64, "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "uint16": .u16, "uint32": .u32,
        "uint64": .u64, "bool": .bool, "float8_e4m3fn": .f8e4m3, "float8_e5m2": .f8e5m2,
    ]

    /// The dotted Python name, for errors.
    var pythonName: String {
        switch self {
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .orderedDict: return "collections.OrderedDict"
        case .set: return "builtins.set"
        case .size: return "torch.Size"
        case .device: return "torch.device"
        case .encode: return "_codecs.encode"
        case .reconstructor: return "copyreg._reconstructor"
        case .getattr: return "builtins.getattr"
        case .storageType(let dtype): return "torch storage of \(dtype.rawValue)"
        case .unsupportedStorage(let name): return "torch.\(name)"
        case .dtype(let dtype): return "torch dtype \(dtype.rawValue)"
        case .modelClass(let name), .reference(let name): return name
        }
    }
}
