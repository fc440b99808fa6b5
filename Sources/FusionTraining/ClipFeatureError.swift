import MediaTypes
import StreamEngine

/// Why a clip's features (or the noise to corrupt them with) could not be computed: either the
/// request named something that is not there or not usable (`isRequestError`), or something
/// failed while running.
package enum ClipFeatureError: Error, Equatable, CustomStringConvertible {
    /// A media file could not be read; `.notFound` means the request named a file that is not there.
    case media(CaptureError)
    /// The speech encoder failed on the clip at `path`.
    case speech(path: String, HuBERTError)
    /// The clip at `path` gives `feature` with `found` values where the model reads `expected`
    /// (a speech model of another width than the one the fusion model was trained on).
    case featureSize(path: String, feature: FeatureName, found: Int, expected: Int)
    /// The noise directory cannot be listed.
    case noiseDirectoryUnreadable(directory: String, reason: String)
    /// The noise directory holds no recording FFmpeg reads of at least `minimumSamples` at 16 kHz.
    case noNoiseRecordings(directory: String, minimumSamples: Int)
    /// The feature cache at `path` cannot be written (or a clip's content cannot be read to key it).
    case cache(path: String, reason: String)

    /// Whether the request was at fault (a file or directory that is not there, or holds
    /// nothing usable) rather than something failing at run time; a command line reports it
    /// as a usage error.
    package var isRequestError: Bool {
        switch self {
        case .media(.notFound), .featureSize, .noiseDirectoryUnreadable, .noNoiseRecordings: return true
        case .media, .speech, .cache: return false
        }
    }

    package var description: String {
        switch self {
        case .media(let error):
            return error.description
        case .speech(let path, let error):
            return "\(path): \(error.description)"
        case .featureSize(let path, let feature, let found, let expected):
            return "\(path): \(feature) has \(found) values, the fusion model reads \(expected) (models of another size?)"
        case .noiseDirectoryUnreadable(let directory, let reason):
            return "\(directory): cannot list the noise directory (\(reason))"
        case .noNoiseRecordings(let directory, let minimumSamples):
            return "\(directory) holds no audio recordings of at least \(Double(minimumSamples) / 16000) s that FFmpeg reads"
        case .cache(let path, let reason):
            return "\(path): feature cache: \(reason)"
        }
    }
}
