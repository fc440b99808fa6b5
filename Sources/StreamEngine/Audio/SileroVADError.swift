import NeuralKit

/// Why the Silero VAD model could not be loaded, naming the file and what to do.
public enum SileroVADError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    /// A tensor is missing, mis-shaped, not finite, or the file is damaged or of another model.
    case weights(SafeTensorsError)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): not found (the Silero VAD model; `tools/fetch-default-models` installs it)"
        case .weights(let error):
            return error.description
        }
    }
}
