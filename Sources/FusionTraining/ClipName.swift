/// The name of a feature dataset's row: a clip, or the k-th corrupted copy of one,
/// `CLIP#aug<k>` (k = 1, 2, …), as `merd features video --augment` names them. Built and read
/// only here, so that the cross-validation that keeps a clip and its copies in one fold reads
/// the names the extractor wrote.
package struct ClipName: Hashable, Sendable, LosslessStringConvertible {
    /// The clip's own name (the media file's name without extension).
    package var clip: String
    /// 1, 2, … for a corrupted copy; nil for the clip itself.
    package var copy: Int?

    static let copyMarker = "#aug"

    /// - Precondition: `clip` is not empty and holds no `#`; `copy`, if any, is 1 or more.
    package init(clip: String, copy: Int? = nil) {
        precondition(!clip.isEmpty && !clip.contains("#"), "clip name '\(clip)' must be non-empty and without '#'")
        precondition(copy.map { $0 >= 1 } ?? true, "copies are numbered from 1")
        self.clip = clip
        self.copy = copy
    }

    /// Reads `CLIP` or `CLIP#aug<k>`. Nil for an empty name, or a `#` that is not a copy's
    /// mark (`a#b`, `a#aug0`, `a#aug01`).
    package init?(_ description: String) {
        guard let mark = description.firstIndex(of: "#") else {
            guard !description.isEmpty else { return nil }
            self.init(clip: description)
            return
        }
        let clip = String(description[..<mark])
        let tail = description[mark...]
        guard !clip.isEmpty, tail.hasPrefix(Self.copyMarker) else { return nil }
        let digits = tail.dropFirst(Self.copyMarker.count)
        guard let first = digits.first, first != "0", digits.allSatisfy({ $0.isASCII && $0.isWholeNumber }),
              let copy = Int(digits) else { return nil }
        self.init(clip: clip, copy: copy)
    }

    package var description: String {
        copy.map { "\(clip)\(Self.copyMarker)\($0)" } ?? clip
    }

    /// The copy's clip (itself for a clip): the group a row belongs to.
    package var original: ClipName { ClipName(clip: clip) }
}
