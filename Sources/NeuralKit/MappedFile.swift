import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only and private, so that a reader slices it without copying:
/// the one place the checkpoint readers (``SafeTensorsFile``, ``TorchCheckpoint``) open, map,
/// unmap and release pages.
///
/// - Important: as with ``SafeTensorsFile``, truncating the file while it is mapped makes
///   touching the lost pages raise SIGBUS; model files are not expected to change under a
///   running daemon.
///
/// - Important: `@unchecked Sendable` because every stored property is set in `init` and never
///   changed, and the mapping it reads is read-only: any number of threads may read at once.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The file's bytes (empty, with a nil base, for an empty file, which mmap refuses).
    let bytes: UnsafeRawBufferPointer

    /// Why a file could not be mapped; each reader wraps it in its own error type.
    enum OpenError: Error {
        case notFound
        case cannotOpen(reason: String)
    }

    init(path: String) throws(OpenError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw .notFound }
            throw .cannotOpen(reason: String(cString: strerror(code)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .cannotOpen(reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw .cannotOpen(reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw .cannotOpen(reason: "mmap: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Tells the kernel that `range`'s whole pages will not be read again soon (a loader copied
    /// them), so they stop counting in resident memory; reading them again still works.
    func releasePages(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        // Whole pages inside the range only: a neighbour sharing a page may still be unread.
        let first = (range.lowerBound + pageSize - 1) / pageSize * pageSize
        let last = range.upperBound / pageSize * pageSize
        guard last > first else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, Int32(MADV_DONTNEED))
    }
}
