import CNeuralKernels
#if canImport(Glibc)
import Glibc
#endif

/// The allocator's side of resident memory.
public enum HeapMemory {
    /// Gives the kernel back the heap's free pages, wherever they are in the heap.
    ///
    /// Call it while loading a large model (HuBERT's loader does after each layer). A loader
    /// allocates each layer's weights while transient F32 copies (a transposed matrix, a BF16
    /// layout's source) come and go; glibc's heap keeps the freed copies' pages resident,
    /// because it returns memory on its own only from the heap's top. HuBERT-large on oneDNN
    /// held 215 MiB above its weights after load in F32 and ~170 MiB in BF16, and peaked
    /// 620 MiB higher while loading (`merd bench hubert`, "RSS after load … peak").
    public static func returnFreePages() {
        _ = nk_release_free_heap()
    }

    /// Float buffers that live for one pass and grow with its input (an attention's
    /// projections: 6 MB at 10 s of HuBERT-large) are mapped from the kernel from this size
    /// up, and unmapped when freed; smaller ones come from the heap.
    public static let passBufferMappedBytes = 1 << 20

    /// A buffer of `floats` for one pass (uninitialised; mapped ones read as zeros).
    ///
    /// merd keeps freed blocks in glibc's heap (`MemoryPolicy` in the merd command), so that
    /// the buffers every utterance needs do not fault in fresh pages each time. A buffer
    /// sized by a long input and freed after its pass is the exception: the 6-MB projections
    /// of a 10-s pass leave a hole that the next pass's smaller blocks split, and the heap
    /// grows by a few MiB a pass. Mapped, HuBERT-large's BF16 peak RSS over 1-, 4- and 10-s
    /// passes (5 each, one process) was 757–771 MiB, mean 764, against 759–779, mean 768, in
    /// alternating runs. Live windows (≤ 60 rows: 0.7 MB of projections) stay on the heap.
    public static func allocatePassBuffer(floats: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(1, floats) * MemoryLayout<Float>.stride
        guard bytes >= passBufferMappedBytes else { return .allocate(capacity: max(1, floats)) }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { fatalError("out of memory: cannot map \(bytes) bytes for a pass buffer") }
        return address.bindMemory(to: Float.self, capacity: floats)
    }

    /// Frees a buffer from ``allocatePassBuffer(floats:)`` of the same `floats`.
    public static func deallocatePassBuffer(_ buffer: UnsafeMutablePointer<Float>, floats: Int) {
        let bytes = max(1, floats) * MemoryLayout<Float>.stride
        guard bytes >= passBufferMappedBytes else { return buffer.deallocate() }
        munmap(buffer, bytes)
    }
}
