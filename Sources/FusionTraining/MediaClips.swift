import Foundation
import StreamEngine

/// Media files as a dataset's clips: each named by its file name without extension, in the
/// order of a labels CSV when there is one, otherwise in the files' order.
package enum MediaClips {
    /// The clip name of the media file at `path`.
    package static func name(of path: String) throws(FusionError) -> ClipName {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard !stem.contains("#"), let name = ClipName(stem) else {
            throw .invalidDataset(file: path, reason: "'\(stem)' cannot name a clip: '#' marks augmented copies (CLIP#aug1)")
        }
        return name
    }

    /// (clip, file) in row order: the files' order, or with `labels` the CSV's rows, each
    /// matched to the file of its name (the first such file).
    package static func ordered(_ paths: [String], by labels: LabelsCSV? = nil) throws(FusionError) -> [(name: ClipName, path: String)] {
        var clips: [(name: ClipName, path: String)] = []
        for path in paths { clips.append((try name(of: path), path)) }
        guard let labels else { return clips }
        let byName = Dictionary(clips.map { ($0.name.clip, $0.path) }, uniquingKeysWith: { first, _ in first })
        let missing = labels.names.filter { byName[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidDataset(file: labels.source,
                                  reason: "names \(missing.count) clip(s) not among the media files: \(missing.prefix(5).joined(separator: ", "))")
        }
        return labels.names.map { (ClipName(clip: $0), byName[$0]!) }
    }
}
