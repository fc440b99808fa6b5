import ArgumentParser
import MerdDaemon
import StreamEngine

/// `--speech-detector silero|energy`, as the commands that find utterances take it.
struct SpeechDetectorOption: ParsableArguments {
    @Option(name: .customLong("speech-detector"), help: "silero or energy (default: silero when its model is installed, else energy).")
    var speechDetector: String?

    /// The detector asked for, nil for the default.
    func kind() throws -> SpeechDetectorKind? {
        guard let speechDetector else { return nil }
        do { return try DaemonConfiguration.speechDetector(speechDetector) } catch {
            throw CommandFailure.usage("--speech-detector \(error.found) is not valid; \(error.allowed)")
        }
    }
}
