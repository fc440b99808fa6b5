/// Why a corpus could not be imported. Each says what was looked for, where, and what to do.
package enum CorpusError: Error, Equatable, CustomStringConvertible {
    /// The corpus directory is not there or cannot be listed.
    case unreadable(directory: String, reason: String)
    /// Nothing in the directory has the corpus's layout.
    case noClips(directory: String, corpus: CorpusKind, expected: String)
    /// A metadata file of the corpus is malformed.
    case malformed(file: String, line: Int?, reason: String)
    /// The output directory cannot be written.
    case cannotWrite(path: String, reason: String)

    package var description: String {
        switch self {
        case .unreadable(let directory, let reason):
            return "\(directory): cannot read the corpus directory (\(reason))"
        case .noClips(let directory, let corpus, let expected):
            return "\(directory): no \(corpus.displayName) clips found (expected \(expected)); is this the corpus's directory?"
        case .malformed(let file, let line, let reason):
            return "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write the imported dataset (\(reason))"
        }
    }
}
