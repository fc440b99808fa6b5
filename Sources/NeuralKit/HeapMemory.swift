import CNeuralKernels

/// The allocator's side of resident memory.
public enum HeapMemory {
    /// Gives the kernel back the heap's free pages, wherever they are in the heap.
    ///
    /// Call it after loading a model. A loader allocates each layer's weights while transient
    /// F32 copies (a transposed matrix, a BF16 layout's source) come and go; glibc's heap
    /// keeps the freed copies' pages resident, because it returns memory on its own only from
    /// the heap's top. HuBERT-large on oneDNN held 214 MiB above its weights after load in
    /// F32 and ~150 MiB in BF16 (`merd bench hubert`, "RSS after load").
    public static func returnFreePages() {
        _ = nk_release_free_heap()
    }
}
