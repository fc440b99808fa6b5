import Locking

#if canImport(Glibc)
import Glibc
#endif

/// Which backend and precision layers use, read when a layer is created (its weights are
/// laid out for that backend once, at load).
///
/// The process-wide choice (`Compute.default`) is set before models load, from the daemon's
/// `compute.backend` and `compute.precision`; a task may load models with another choice
/// through `Compute.withSettings(_:_:)` (the parity tests run both backends side by side).
public struct Compute: Sendable, Equatable, CustomStringConvertible {
    public var backend: ComputeBackend
    public var precision: ComputePrecision

    public init(backend: ComputeBackend, precision: ComputePrecision = .f32) {
        self.backend = backend
        self.precision = precision
    }

    public static let openBLAS = Compute(backend: .openBLAS)
    public static let oneDNN = Compute(backend: .oneDNN)
    public static let oneDNNBF16 = Compute(backend: .oneDNN, precision: .bf16)

    public var description: String { "\(backend.rawValue)/\(precision.rawValue)" }

    /// The choice layers created now use: this task's (`withSettings`), else the process's.
    public static var current: Compute { override ?? processWide.withLock { $0 } }

    /// The process-wide choice. Set it before loading models; layers already created keep
    /// theirs. OpenBLAS F32 until oneDNN is the default (see `standard`).
    public static var `default`: Compute {
        get { processWide.withLock { $0 } }
        set { processWide.withLock { $0 = newValue } }
    }

    /// Runs `body` (which loads models) with `settings` for the layers it creates.
    public static func withSettings<R>(_ settings: Compute, _ body: () throws -> R) rethrows -> R {
        try $override.withValue(settings, operation: body)
    }

    /// Throws unless this machine can run this choice: BF16 needs oneDNN and a CPU with
    /// AVX512_BF16 or AMX (oneDNN would otherwise fall back to slow emulation without a word).
    public func validate() throws(ComputeError) {
        if backend == .oneDNN, let problem = OneDNN.kernelProblem { throw .oneDNNUnavailable(reason: problem) }
        guard precision == .bf16 else { return }
        guard backend == .oneDNN else { throw .bf16NeedsOneDNN }
        if let reason = ComputePrecision.bf16Unavailability { throw .bf16Unavailable(reason: reason) }
    }

    /// The backend and precision merd uses when the configuration names none: oneDNN in F32,
    /// which runs the dense layers 1.2–2.3× and the face CNNs faster than OpenBLAS on
    /// AVX-512 machines (`merd bench gemm`, `merd bench faces --backend`) and equals it within
    /// the parity tests' tolerances (HuBERT, EfficientNet, every convolution geometry).
    public static let standard = Compute.oneDNN

    /// The process's choice at start: `MERD_COMPUTE` (`openblas`, `onednn`, `onednn/bf16`)
    /// when set, else `standard`. scripts/sanitize sets `openblas`, whose threads
    /// ThreadSanitizer can follow (it cannot see libgomp's).
    public static let environment: Compute? = {
        guard let value = getenv("MERD_COMPUTE").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return Compute(parsing: value)
    }()

    /// `backend` or `backend/precision`, as `description` writes them; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "/", maxSplits: 1).map(String.init)
        guard let backend = parts.first.flatMap(ComputeBackend.init(rawValue:)) else { return nil }
        let precision = parts.count > 1 ? ComputePrecision(rawValue: parts[1]) : .f32
        guard let precision else { return nil }
        self.init(backend: backend, precision: precision)
    }

    /// What to tell the operator when the standard choice cannot run here and OpenBLAS stands
    /// in (oneDNN's JIT refused, as under systemd's MemoryDenyWriteExecute=yes); nil otherwise.
    public static let standardFallback: String? = {
        guard environment == nil, standard.backend == .oneDNN, let problem = OneDNN.kernelProblem else { return nil }
        return "\(ComputeError.oneDNNUnavailable(reason: problem)); using OpenBLAS"
    }()

    private static let processWide = Locked(Compute.environment ?? (standardFallback == nil ? Compute.standard : Compute.openBLAS))
    @TaskLocal private static var override: Compute?
}

/// A compute choice this machine or this build cannot run.
public enum ComputeError: Error, CustomStringConvertible, Equatable, Sendable {
    case bf16NeedsOneDNN
    case bf16Unavailable(reason: String)
    /// oneDNN cannot create its kernels here: it writes them at run time for the CPU's ISA,
    /// and a W^X policy forbids executing written memory.
    case oneDNNUnavailable(reason: String)

    public var description: String {
        switch self {
        case .oneDNNUnavailable(let reason):
            "oneDNN cannot create its kernels here (\(reason)): its JIT writes code at run time, which a W^X policy such as"
                + " systemd's MemoryDenyWriteExecute=yes forbids; allow it, or use the OpenBLAS backend (MERD_COMPUTE=openblas)"
        case .bf16NeedsOneDNN:
            "compute precision bf16 needs the oneDNN backend: set compute.backend = \"onednn\" or precision f32"
        case .bf16Unavailable(let reason):
            "compute precision bf16 is not available here: \(reason); use precision f32"
        }
    }
}

extension OneDNN {
    /// Why oneDNN cannot run on this machine, found once by creating a small product's
    /// primitives (where its JIT writes their code); nil when it can.
    package static let kernelProblem: String? = {
        do {
            let probe = try OneDNNMatmul(inputMajorWeight: Tensor(shape: [64, 64], repeating: 0.5), bias: nil, precision: .f32)
            _ = try probe.implementation(rows: 16)
            return nil
        } catch {
            return "\(error)"
        }
    }()
}

extension ComputePrecision {
    /// Why BF16 products cannot run at full speed on this CPU, or nil when they can.
    /// oneDNN runs BF16 on any AVX-512 CPU by converting in software, several times slower
    /// than F32, and says nothing: merd reads the CPU's flags itself.
    public static let bf16Unavailability: String? = {
        let flags = CPUFlags.current
        if flags.contains("avx512_bf16") || flags.contains("amx_bf16") { return nil }
        if flags.isEmpty { return "the CPU's flags could not be read from /proc/cpuinfo" }
        return "the CPU has neither AVX512_BF16 nor AMX-BF16 (\(CPUFlags.modelName))"
    }()

    /// Whether BF16 runs natively here.
    public static var bf16Available: Bool { bf16Unavailability == nil }
}

/// The first processor's feature flags and model name, from /proc/cpuinfo.
enum CPUFlags {
    static let current: Set<String> = Set(field("flags")?.split(separator: " ").map(String.init) ?? [])
    static let modelName: String = field("model name") ?? "unknown CPU"

    private static func field(_ name: String) -> String? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix(name), let colon = text.firstIndex(of: ":") else { continue }
            let key = text[..<colon].trimmingCharacters(in: " \t")
            guard key == name else { continue }
            return String(text[text.index(after: colon)...].trimmingCharacters(in: " \t\n"))
        }
        return nil
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return s
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> Substring { self[...].trimmingCharacters(in: set) }
}
