import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks a model folder's files against the sha256 its `model.json` records, before the
/// model is loaded: a file truncated by a full disk, damaged on it, or replaced by another
/// version is refused with a line naming it, instead of loading into wrong answers.
///
/// Hashing HuBERT-large takes about a second (libcrypto, 1.3 GB/s here), so a file once
/// verified is remembered by its size and modification time in `.verified.json` beside the
/// manifest, and hashed again only when either changes. A folder merd cannot write to (a
/// read-only models directory) is simply verified at every start.
public enum ModelIntegrity {
    static let cacheFile = ".verified.json"

    struct Verified: Codable, Equatable {
        var bytes: Int
        var modified: Double
        var sha256: String
    }

    /// Verifies every file of `directory`'s manifest that records a sha256. A folder without a
    /// manifest, or files without one, pass unchecked (a model the user placed by hand).
    public static func verify(directory: String) throws(ModelStoreError) {
        guard let manifest = ModelManifest.read(directory: directory), let files = manifest.files else { return }
        var cache = readCache(directory)
        var changed = false
        for file in files {
            guard let expected = file.sha256?.lowercased() else { continue }
            let path = directory + "/" + file.name
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw ModelStoreError("\(path): listed in \(directory)/model.json but \(errno == ENOENT ? "missing (or a link to nothing)" : String(cString: strerror(errno))); "
                                      + "install the model again")
            }
            let (bytes, modified) = stamp(status)
            if let known = cache[file.name], known == Verified(bytes: bytes, modified: modified, sha256: expected) { continue }
            let found: String
            do { found = try ContentDigest.sha256(ofFile: path) } catch { throw ModelStoreError(error.description) }
            guard found == expected else {
                throw ModelStoreError("\(path): its sha256 is \(found), \(directory)/model.json says \(expected): the file changed after it was installed "
                                      + "(a partial copy, a full disk, damage); install the model again (`merd models fetch \(manifest.name ?? "NAME") --force` for a fetched one)")
            }
            cache[file.name] = Verified(bytes: bytes, modified: modified, sha256: expected)
            changed = true
        }
        if changed { writeCache(cache, directory) }
    }

    /// The sha256 of the model file at `path`, from its folder's `.verified.json` when the
    /// file's size and modification time are what was recorded, else hashed (and recorded,
    /// best effort). What `merd train --dataset` fingerprints its features with: hashing
    /// HuBERT-large at every run cost a second of reading.
    public static func sha256(of path: String) throws(ModelStoreError) -> String {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path, name = url.lastPathComponent
        var status = stat()
        guard stat(path, &status) == 0 else { throw ModelStoreError("\(path): \(String(cString: strerror(errno)))") }
        let (bytes, modified) = stamp(status)
        var cache = readCache(directory)
        if let known = cache[name], known.bytes == bytes, known.modified == modified { return known.sha256 }
        let found: String
        do { found = try ContentDigest.sha256(ofFile: path) } catch { throw ModelStoreError(error.description) }
        cache[name] = Verified(bytes: bytes, modified: modified, sha256: found)
        writeCache(cache, directory)
        return found
    }

    /// A file's size and modification time: what a remembered digest is valid for.
    private static func stamp(_ status: stat) -> (bytes: Int, modified: Double) {
        (Int(status.st_size), Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
    }

    /// `directory`'s remembered digests (none when the file is missing or unreadable).
    private static func readCache(_ directory: String) -> [String: Verified] {
        FileManager.default.contents(atPath: directory + "/" + cacheFile).flatMap { try? JSONDecoder().decode([String: Verified].self, from: $0) } ?? [:]
    }

    /// Best effort: a read-only folder is verified again next time.
    private static func writeCache(_ cache: [String: Verified], _ directory: String) {
        guard let data = try? JSONEncoder().encode(cache) else { return }
        try? data.write(to: URL(fileURLWithPath: directory + "/" + cacheFile), options: .atomic)
    }
}
