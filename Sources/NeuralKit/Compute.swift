import COneDNN
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
    /// theirs. It starts as `environment`, else `standard` (OpenBLAS where oneDNN cannot run).
    public static var `default`: Compute {
        get { processWide.withLock { $0 } }
        set {
            processWide.withLock { $0 = newValue }
            processWideEncoders.withLock { $0 = nil }
        }
    }

    /// The choice the large face CNN encoders (EfficientNet, ResNet-50, MA-Net) are created
    /// with: this task's (`withSettings`), else the process's `encoders`, else `current`.
    public static var currentForEncoders: Compute { override ?? processWideEncoders.withLock { $0 } ?? current }

    /// The process-wide choice of the large CNN encoders where it differs from `default`
    /// (nil: `default`'s). Setting `default` clears it: a backend named by the operator is
    /// every layer's. Where none was named, the daemon and the commands set it back to
    /// `standardEncoders`'s choice.
    public static var encoders: Compute? {
        get { processWideEncoders.withLock { $0 } }
        set { processWideEncoders.withLock { $0 = newValue } }
    }

    /// Makes `compute` the process's choice (`default`). Where the operator named no backend
    /// (`backendNamed` false, no `MERD_COMPUTE`) and `compute` is F32, the large CNN encoders
    /// take `standardEncoders`'s choice, which is returned for the log.
    @discardableResult
    public static func choose(_ compute: Compute, backendNamed: Bool) -> (compute: Compute, reason: String)? {
        self.default = compute
        guard !backendNamed, environment == nil, compute.precision == .f32, standardFallback == nil, let chosen = standardEncoders else { return nil }
        encoders = chosen.compute
        return chosen
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

    /// The backend and precision merd uses when neither the configuration nor `MERD_COMPUTE`
    /// names one, F32 on the backend whose dense products are faster on this CPU (`standardReason`
    /// says which and why):
    /// - oneDNN where its matmul runs its brgemm kernels (AVX-512 and up in oneDNN 2.6.3). There
    ///   it ran the dense layers 1.2–2.3× and the face CNNs faster than OpenBLAS (`merd bench
    ///   gemm`, `merd bench faces --backend`) and equals it within the parity tests' tolerances.
    /// - Where oneDNN has only its generic `gemm:jit` (AVX2), oneDNN unless OpenBLAS runs live
    ///   speech's products clearly faster, timed once at start (`BackendSpeedProbe`, ~0.1 s;
    ///   `oneDNNSpeedupFloor`). On an AMD EPYC Zen 2, 2 cores, that is oneDNN: with its
    ///   weights placed for gemm:jit's copy (`OneDNNMatmul.WeightPlacement`) the live
    ///   engine's share of the latency fell from 35–61 ms to 7–17 and its CPU from 0.87–0.90 s
    ///   to 0.81–0.82 per second of stream (`merd bench engine --backend`,
    ///   Benchmarks/RESULTS.md). Before that placement, gemm:jit ran at half OpenBLAS's rate
    ///   from 48 rows and merd took OpenBLAS on the name.
    /// - oneDNN again where OpenBLAS runs its generic SSE kernels (a CPU it does not know).
    public static let standard: Compute = standardChoice.compute

    /// Why `standard` is what it is on this machine, for the daemon's log.
    public static var standardReason: String { standardChoice.reason }

    private static let standardChoice = standard(denseImplementation: OneDNN.denseImplementation, openBLASKernels: BLAS.coreName) { () throws(OneDNNError) in
        try BackendSpeedProbe.oneDNNSpeedup()
    }

    /// The rule behind `standard`, given what oneDNN's matmul runs here, OpenBLAS's kernel
    /// family, and a measurement of oneDNN's speed over OpenBLAS's, taken only where the
    /// names leave the choice open.
    static func standard(denseImplementation: Result<String, OneDNNError>, openBLASKernels: String,
                         oneDNNSpeedup: () throws(OneDNNError) -> Double) -> (compute: Compute, reason: String) {
        switch denseImplementation {
        case .failure:
            // oneDNN cannot make kernels here: `standardFallback` says so and OpenBLAS stands in.
            return (.oneDNN, "oneDNN could not be probed")
        case .success(let implementation) where OneDNN.isBrgemm(implementation):
            return (.oneDNN, "oneDNN's matmul runs its \(implementation) kernels on this CPU")
        case .success(let implementation) where BLASKernelHint.genericFamilies.contains(openBLASKernels):
            return (.oneDNN, "oneDNN's matmul runs \(implementation) and OpenBLAS its generic \(openBLASKernels) kernels on this CPU")
        case .success(let implementation):
            let speedup: Double
            do { speedup = try oneDNNSpeedup() } catch {
                return (.openBLAS, "oneDNN's matmul has only its generic \(implementation) on this CPU (no AVX-512), "
                    + "and its speed against OpenBLAS's \(openBLASKernels) kernels could not be measured (\(error))")
            }
            let ratio = (speedup * 100).rounded() / 100
            let measured = "oneDNN's \(implementation) ran live speech's products at \(ratio)× the speed of OpenBLAS's "
                + "\(openBLASKernels) kernels (measured at start; `merd bench gemm`)"
            return speedup >= oneDNNSpeedupFloor ? (.oneDNN, measured) : (.openBLAS, measured)
        }
    }

    /// The measured speed-up below which merd takes OpenBLAS over a `gemm:jit` oneDNN. Not 1:
    /// a start among other busy services measures noise. On an idle Zen 2 the probe gave
    /// 1.15–1.25× in sixteen starts, but 0.96–2.0× while the test suite ran beside it; a
    /// margin keeps such a start from taking a backend that is not clearly faster.
    static let oneDNNSpeedupFloor = 0.8

    /// The large CNN encoders' choice where no backend was named and it differs from
    /// `standard`, with the reason for the daemon's log; nil where they take `standard`.
    /// oneDNN's convolutions have JIT kernels for AVX2 (`jit:avx2`) where its matmul has only
    /// `gemm:jit`: on an AMD EPYC Zen 3, 2 threads (`merd bench faces --backend`), they ran
    /// EfficientNet-B0 1.7× and ResNet-50 and MA-Net 1.2× as fast as OpenBLAS's im2col
    /// products, while mini-Xception (0.6×) and MTCNN, whose convolutions are small, ran faster
    /// on OpenBLAS and stay with `standard`.
    public static let standardEncoders: (compute: Compute, reason: String)? =
        standardEncoders(standard: standard, convolutionImplementation: OneDNN.convolutionImplementation)

    /// The rule behind `standardEncoders`, given `standard` and what oneDNN's F32 convolution
    /// runs here.
    static func standardEncoders(standard: Compute, convolutionImplementation: Result<String, OneDNNError>) -> (compute: Compute, reason: String)? {
        guard standard.backend == .openBLAS, case .success(let implementation) = convolutionImplementation,
              implementation.hasPrefix("jit") || implementation.hasPrefix("brg") else { return nil }
        return (Compute(backend: .oneDNN, precision: standard.precision),
                "oneDNN's convolutions run \(implementation) on this CPU, faster for these than OpenBLAS's products (`merd bench faces --backend`)")
    }

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
    private static let processWideEncoders = Locked<Compute?>(Compute.environment == nil && standardFallback == nil ? standardEncoders?.compute : nil)
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
    /// What oneDNN's F32 matmul runs for a product of HuBERT's width at a live window's 48
    /// rows, found once by creating its primitive: `brg:…` (brgemm) on AVX-512 CPUs, its
    /// generic `gemm:jit` on AVX2 ones; the error when oneDNN cannot write kernels here.
    package static let denseImplementation: Result<String, OneDNNError> = {
        do throws(OneDNNError) {
            try writeKernel()
            let probe = try OneDNNMatmul(inputMajorWeight: Tensor(shape: [1024, 1024], repeating: 0.5), bias: nil, precision: .f32)
            return .success(try probe.implementation(rows: 48))
        } catch {
            return .failure(error)
        }
    }()

    /// What oneDNN's F32 convolution runs for a 3×3, 64-channel layer on a 56×56 input (the
    /// first stage of ResNet-50), found once: `jit:avx2`, `brgconv:…`, `jit:avx512_core`…; the
    /// dense probe's error where oneDNN cannot write kernels here.
    package static let convolutionImplementation: Result<String, OneDNNError> = {
        if case .failure(let error) = denseImplementation { return .failure(error) }
        do throws(OneDNNError) {
            let probe = OneDNNConvolution(weight: Tensor(shape: [64, 64, 3, 3], repeating: 0.01), bias: nil,
                                          geometry: ConvolutionGeometry(padding: .same), precision: .f32)
            return .success(try probe.implementation(batch: 1, height: 56, width: 56))
        } catch {
            return .failure(error)
        }
    }()

    /// Makes a small ReLU's primitive, whose JIT kernel (`jit:avx2`, `jit:avx512_core`…) is
    /// written when the primitive is made; a W^X policy makes that fail. The matmul alone
    /// would not tell: `gemm:jit` (AVX2) writes its kernels at its first run, where a failure
    /// is a crash, not an error.
    private static func writeKernel() throws(OneDNNError) {
        var data = try descriptor([16, 64], dnnl_f32, dnnl_ab)
        var relu = dnnl_eltwise_desc_t()
        try check(dnnl_eltwise_forward_desc_init(&relu, dnnl_forward_inference, dnnl_eltwise_relu, &data, 0, 0), "relu [16, 64]")
        let primitive = try primitive(&relu, attributes: nil, "relu [16, 64]")
        guard !primitive.implementation.hasPrefix("ref:") else {
            // Only the reference loops: nothing was written, so nothing was shown to run.
            throw OneDNNError(operation: "JIT a relu [16, 64] (oneDNN offered only \(primitive.implementation))", status: dnnl_unimplemented.rawValue)
        }
    }

    /// Why oneDNN cannot run on this machine; nil when it can.
    package static var kernelProblem: String? {
        guard case .failure(let error) = denseImplementation else { return nil }
        return "\(error)"
    }

    /// Whether `implementation` is one of oneDNN's brgemm kernels, the ones that outran
    /// OpenBLAS (`brg:avx512_core`, `brg:avx512_core_bf16`, `brg:avx512_core_amx`…).
    package static func isBrgemm(_ implementation: String) -> Bool { implementation.hasPrefix("brg") }
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
