/// Why a benchmark could not run on the input it was given.
package enum BenchmarkError: Error, Equatable, CustomStringConvertible {
    /// A folder of the shared data that is not there (or cannot be listed).
    case missingFolder(path: String)
    /// A video that decoded to no pictures.
    case noVideoFrames(path: String)
    /// The face benchmark's first frame, which every stage is timed on, shows no face.
    case noFaceInFirstFrame
    /// Random weights for an encoder the models directory lacks could not be written or loaded.
    case randomModel(String)

    package var description: String {
        switch self {
        case .missingFolder(let path): return "\(path): no such folder; the shared data folder holds grid/ and emodb/wav/"
        case .noVideoFrames(let path): return "\(path): no video frames"
        case .noFaceInFirstFrame: return "no face in the first frame"
        case .randomModel(let reason): return "random model for the benchmark: \(reason)"
        }
    }
}
