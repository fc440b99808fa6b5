import CNeuralKernels

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
}
