#if canImport(Glibc)
import Glibc
#endif

/// A buffer of floats for one pass, freed with its owner (uninitialised; a mapped one reads as
/// zeros). It keeps its own size, so the mapping it frees is the one it made.
///
/// merd keeps freed blocks in glibc's heap (`MemoryPolicy` in the merd command), so that the
/// buffers every utterance needs do not fault in fresh pages each time. A buffer sized by a
/// long input and freed after its pass is the exception: the 6-MB projections of a 10-s pass
/// leave a hole that the next pass's smaller blocks split, and the heap grows by a few MiB a
/// pass. Mapped, HuBERT-large's BF16 peak RSS over 1-, 4- and 10-s passes (5 each, one
/// process) was 757–771 MiB, mean 764, against 759–779, mean 768, in alternating runs. Live
/// windows (≤ 60 rows: 0.7 MB of projections) stay on the heap.
public struct PassBuffer: ~Copyable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private var isMapped: Bool { count * MemoryLayout<Float>.stride >= HeapMemory.passBufferMappedBytes }

    public init(count: Int) {
        self.count = max(1, count)
        let bytes = self.count * MemoryLayout<Float>.stride
        guard bytes >= HeapMemory.passBufferMappedBytes else {
            pointer = .allocate(capacity: self.count)
            return
        }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { fatalError("out of memory: cannot map \(bytes) bytes for a pass buffer") }
        pointer = address.bindMemory(to: Float.self, capacity: self.count)
    }

    deinit {
        if isMapped { munmap(pointer, count * MemoryLayout<Float>.stride) } else { pointer.deallocate() }
    }
}
