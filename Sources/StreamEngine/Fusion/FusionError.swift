/// What is wrong with a fusion model, dataset or training request.
public enum FusionError: Error, Equatable, CustomStringConvertible {
    case invalidArchitecture(String)
    case invalidModel(file: String, reason: String)
    case invalidDataset(file: String, reason: String)
    /// A line of a labels CSV (1 is the header) that is not what the file's header promises.
    case invalidLabels(file: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let reason): return "fusion architecture: \(reason)"
        case .invalidModel(let file, let reason): return "\(file): \(reason)"
        case .invalidDataset(let file, let reason): return "\(file): \(reason)"
        case .invalidLabels(let file, let line, let reason): return "\(file), line \(line): \(reason)"
        }
    }
}
