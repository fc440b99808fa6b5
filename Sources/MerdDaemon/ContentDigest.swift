import CCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Digests of whole files through OpenSSL's libcrypto (EVP), read in 1 MiB blocks so a
/// 1.2 GB checkpoint never sits in memory at once.
///
/// Two digests, for two kinds of pin: the SHA-256 a manifest records (and the HuggingFace hub
/// lists for each LFS file), and git's blob id, the SHA-1 of `"blob <size>\0"` followed by the
/// content, which is how a GitHub repository at a commit names each file's content — so a file
/// fetched from a pinned commit can be checked against the id `git ls-tree` shows, without the
/// file itself ever having been seen by whoever pinned it.
public enum ContentDigest {
    public enum Algorithm: Sendable {
        case sha256
        case sha1
    }

    /// The lower-case hex digest of the file at `path`, after `prefix`.
    public static func hex(ofFile path: String, algorithm: Algorithm, prefix: [UInt8] = []) throws(ContentDigestError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard let context = EVP_MD_CTX_new() else { throw .library("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        let method = algorithm == .sha256 ? EVP_sha256() : EVP_sha1()
        guard EVP_DigestInit_ex(context, method, nil) == 1 else { throw .library("EVP_DigestInit_ex failed") }
        if !prefix.isEmpty {
            guard prefix.withUnsafeBytes({ EVP_DigestUpdate(context, $0.baseAddress, $0.count) }) == 1 else {
                throw .library("EVP_DigestUpdate failed")
            }
        }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { block.deallocate() }
        while true {
            let count = read(descriptor, block.baseAddress, block.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            guard EVP_DigestUpdate(context, block.baseAddress, count) == 1 else { throw .library("EVP_DigestUpdate failed") }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else { throw .library("EVP_DigestFinal_ex failed") }
        return digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The SHA-256 of the file at `path`, lower-case hex.
    public static func sha256(ofFile path: String) throws(ContentDigestError) -> String {
        try hex(ofFile: path, algorithm: .sha256)
    }

    /// Git's blob id of the file at `path` (what `git hash-object` prints).
    public static func gitBlobID(ofFile path: String) throws(ContentDigestError) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .cannotRead(path: path, reason: String(cString: strerror(errno))) }
        return try hex(ofFile: path, algorithm: .sha1, prefix: Array("blob \(status.st_size)\0".utf8))
    }
}

/// Why a file could not be digested.
public enum ContentDigestError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case library(String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "\(path): cannot read (\(reason))"
        case .library(let reason): return "libcrypto: \(reason)"
        }
    }
}
