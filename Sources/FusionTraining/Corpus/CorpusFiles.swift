import Foundation

/// The files of a corpus directory, found the same way for every importer.
enum CorpusFiles {
    /// Every regular file under `directory` (links followed), sorted by path; hidden files left out.
    static func list(_ directory: String) throws(CorpusError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw .unreadable(directory: directory, reason: "no such directory")
        }
        guard isDirectory.boolValue else { throw .unreadable(directory: directory, reason: "not a directory") }
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath()
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                              options: [.skipsHiddenFiles]) else {
            throw .unreadable(directory: directory, reason: "cannot list it")
        }
        var files: [String] = []
        for case let url as URL in enumerator {
            let resolved = url.resolvingSymlinksInPath()
            if (try? resolved.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(url.path) }
        }
        return files.sorted()
    }

    /// The file name without directory and extension.
    static func stem(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

    /// The extension, lower-cased.
    static func pathExtension(_ path: String) -> String { URL(fileURLWithPath: path).pathExtension.lowercased() }

    /// Media extensions FFmpeg reads that the corpora use, video first.
    static let videoExtensions: Set<String> = ["mp4", "avi", "flv", "mkv", "mov", "webm", "mpg"]
    static let audioExtensions: Set<String> = ["wav", "flac", "mp3", "m4a", "ogg"]
}
