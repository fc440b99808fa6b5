import COneDNN

/// A oneDNN call that failed: which call, oneDNN's status, and what to do about it.
public struct OneDNNError: Error, CustomStringConvertible, Sendable {
    /// The C function that failed, with what it was doing (`matmul [48, 1024]·[1024, 4096]`).
    public let operation: String
    /// oneDNN's `dnnl_status_t`, as its raw value.
    public let status: UInt32

    public var description: String {
        let reason: String
        switch dnnl_status_t(rawValue: status) {
        case dnnl_out_of_memory: reason = "out of memory"
        case dnnl_invalid_arguments: reason = "invalid arguments (a shape or layout oneDNN does not accept)"
        case dnnl_unimplemented: reason = "no implementation for this shape, data type or CPU (bf16 needs AVX512_BF16 or AMX; choose compute precision f32 or the OpenBLAS backend)"
        default: reason = "status \(status)"
        }
        return "oneDNN \(operation) failed: \(reason)"
    }
}

/// The process's oneDNN CPU engine and the calls every primitive wrapper shares.
package enum OneDNN {
    /// One CPU engine for the process: primitives created on it may run from any thread
    /// (Debian's build defines DNNL_ENABLE_CONCURRENT_EXEC; each execution brings its own
    /// scratchpad).
    static let engine: EngineHandle = {
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        precondition(status == dnnl_success, "oneDNN could not create its CPU engine (status \(status.rawValue))")
        return EngineHandle(engine!)
    }()

    /// Throws unless `status` is success.
    static func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws(OneDNNError) {
        guard status == dnnl_success else { throw OneDNNError(operation: operation(), status: status.rawValue) }
    }

    /// A plain (row-major) memory descriptor.
    static func descriptor(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) throws(OneDNNError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let extents = dims.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), extents, type, tag), "memory descriptor \(dims)")
        return md
    }

    /// The primitive a descriptor's best implementation makes, with its implementation's name.
    static func primitive(_ descriptor: UnsafeRawPointer, attributes: dnnl_primitive_attr_t?, _ operation: String)
        throws(OneDNNError) -> Primitive
    {
        var pd: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&pd, descriptor, attributes, engine.handle, nil), operation)
        defer { dnnl_primitive_desc_destroy(pd) }
        return try Primitive(descriptor: pd!, operation)
    }

    /// Runs `body` with attributes whose scratchpad is the caller's and whose post-ops add
    /// the destination's old contents (`accumulate`) and apply `activation` after.
    ///
    /// The scratchpad is passed at each execution (`Primitive.execute`, from `ScratchPool`):
    /// with DNNL_ENABLE_CONCURRENT_EXEC, as Debian builds it, a library-managed scratchpad is
    /// allocated with each primitive and lives as long as it does, and a primitive exists per
    /// row count and per shape (HuBERT-large's peak RSS at load: 1310 → 1290 MiB in F32,
    /// 737 → 714 in BF16, and the primitives of every later row count cost no scratchpad).
    static func withAttributes<R>(accumulate: Bool, activation: dnnl_alg_kind_t? = nil,
                                  _ body: (dnnl_primitive_attr_t) throws(OneDNNError) -> R) throws(OneDNNError) -> R {
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "primitive attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "user scratchpad")
        if accumulate || activation != nil {
            var postOps: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&postOps), "post-ops")
            defer { dnnl_post_ops_destroy(postOps) }
            if accumulate { try check(dnnl_post_ops_append_sum(postOps, 1), "sum post-op") }
            if let activation { try check(dnnl_post_ops_append_eltwise(postOps, 1, activation, 1, 0), "eltwise post-op") }
            try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "post-ops")
        }
        return try body(attributes!)
    }

    /// A reorder primitive between two layouts (or data types) of the same tensor.
    static func reorder(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) throws(OneDNNError) -> Primitive {
        var source = source, destination = destination
        var pd: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&pd, &source, engine.handle, &destination, engine.handle, nil), "reorder")
        defer { dnnl_primitive_desc_destroy(pd) }
        return try Primitive(descriptor: pd!, "reorder")
    }

    /// The ISA oneDNN dispatches to on this CPU (`avx512_core_bf16`, `avx512_core_amx`…).
    package static var isaName: String {
        let isa = dnnl_get_effective_cpu_isa()
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"), (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { $0.0 == isa }?.1 ?? "isa \(isa.rawValue)"
    }

    /// oneDNN's version, `2.6.3`.
    package static var version: String {
        guard let v = dnnl_version()?.pointee else { return "unknown" }
        return "\(v.major).\(v.minor).\(v.patch)"
    }
}

/// The CPU engine's handle.
///
/// - Important: `@unchecked Sendable` because a oneDNN engine is immutable once created and
///   oneDNN allows creating primitives on it from any thread; it lives for the process.
final class EngineHandle: @unchecked Sendable {
    let handle: dnnl_engine_t
    init(_ handle: dnnl_engine_t) { self.handle = handle }
}

/// A oneDNN primitive and the layouts its implementation chose.
///
/// - Important: `@unchecked Sendable` because a created primitive is never mutated, and
///   Debian's oneDNN is built with DNNL_ENABLE_CONCURRENT_EXEC: several threads may execute
///   one primitive at once (each on its own scratchpad, with its own memory objects).
final class Primitive: @unchecked Sendable {
    let handle: dnnl_primitive_t
    /// The implementation oneDNN picked (`brg:avx512_core`, `jit:avx512_core_bf16`…).
    let implementation: String
    let sourceDescriptor: dnnl_memory_desc_t
    let weightsDescriptor: dnnl_memory_desc_t
    let destinationDescriptor: dnnl_memory_desc_t
    /// The scratchpad each execution needs (user-managed, see `OneDNN.withAttributes`); a
    /// zero-sized descriptor when the primitive needs none or manages its own (reorders).
    let scratchpadDescriptor: dnnl_memory_desc_t
    let scratchpadBytes: Int

    init(descriptor pd: dnnl_primitive_desc_t, _ operation: String) throws(OneDNNError) {
        var primitive: dnnl_primitive_t?
        try OneDNN.check(dnnl_primitive_create(&primitive, pd), "create \(operation)")
        handle = primitive!
        var info: UnsafePointer<CChar>?
        _ = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
        implementation = info.map { String(cString: $0) } ?? "unknown"
        func md(_ query: dnnl_query_t) -> dnnl_memory_desc_t {
            dnnl_primitive_desc_query_md(pd, query, 0)?.pointee ?? dnnl_memory_desc_t()
        }
        sourceDescriptor = md(dnnl_query_src_md)
        weightsDescriptor = md(dnnl_query_weights_md)
        destinationDescriptor = md(dnnl_query_dst_md)
        var attributes: const_dnnl_primitive_attr_t?
        var mode = dnnl_scratchpad_mode_library
        if dnnl_primitive_desc_get_attr(pd, &attributes) == dnnl_success, let attributes {
            _ = dnnl_primitive_attr_get_scratchpad_mode(attributes, &mode)
        }
        scratchpadDescriptor = mode == dnnl_scratchpad_mode_user ? md(dnnl_query_scratchpad_md) : dnnl_memory_desc_t()
        scratchpadBytes = mode == dnnl_scratchpad_mode_user ? withUnsafePointer(to: scratchpadDescriptor) { dnnl_memory_desc_get_size($0) } : 0
    }

    deinit { dnnl_primitive_destroy(handle) }

    /// Runs the primitive on `arguments` (oneDNN argument index → memory pointer and its
    /// layout), on a stream of the calling thread, and waits for it.
    func execute(_ arguments: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) {
        guard scratchpadBytes > 0 else { return run(arguments) }
        ScratchPool.shared.withBuffer(byteCount: scratchpadBytes) { scratchpad in
            run(arguments + [(DNNL_ARG_SCRATCHPAD, scratchpadDescriptor, scratchpad)])
        }
    }

    private func run(_ arguments: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) {
        var memories: [dnnl_exec_arg_t] = []
        memories.reserveCapacity(arguments.count)
        defer { for argument in memories { dnnl_memory_destroy(argument.memory) } }
        for (index, descriptor, pointer) in arguments {
            var descriptor = descriptor
            var memory: dnnl_memory_t?
            let status = dnnl_memory_create(&memory, &descriptor, OneDNN.engine.handle, pointer)
            precondition(status == dnnl_success, "oneDNN memory for argument \(index): status \(status.rawValue)")
            memories.append(dnnl_exec_arg_t(arg: index, memory: memory))
        }
        // A CPU stream is a small object; one per call keeps concurrent callers apart.
        var stream: dnnl_stream_t?
        var status = dnnl_stream_create(&stream, OneDNN.engine.handle, dnnl_stream_default_flags.rawValue)
        precondition(status == dnnl_success, "oneDNN stream: status \(status.rawValue)")
        defer { dnnl_stream_destroy(stream) }
        status = dnnl_primitive_execute(handle, stream, Int32(memories.count), memories)
        precondition(status == dnnl_success, "oneDNN execute (\(implementation)): status \(status.rawValue)")
        status = dnnl_stream_wait(stream)
        precondition(status == dnnl_success, "oneDNN stream wait: status \(status.rawValue)")
    }
}

/// Memory oneDNN's layouts live in: 64-byte aligned, or `offset` bytes past a 64-byte
/// boundary (`OneDNNMatmul.WeightPlacement`), owned by its holder.
///
/// - Important: `@unchecked Sendable` because it is written once, when the weights are
///   reordered into it at load, and only read after.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    private let allocation: UnsafeMutableRawPointer

    init(byteCount: Int, offset: Int = 0) {
        precondition((0..<64).contains(offset), "offset within one cache line")
        self.byteCount = byteCount
        allocation = .allocate(byteCount: max(byteCount + offset, 64), alignment: 64)
        pointer = allocation + offset
    }

    deinit { allocation.deallocate() }
}
