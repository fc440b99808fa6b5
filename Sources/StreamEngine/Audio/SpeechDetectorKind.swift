/// Which detector finds speech (`engine.speech_detector`).
public enum SpeechDetectorKind: String, Sendable, CaseIterable {
    /// Silero VAD: a neural detector that hears voices, not loudness (the default when its
    /// model is installed).
    case silero
    /// Band energy over an adaptive noise floor: no model needed; steady noise is fine,
    /// other talkers are not.
    case energy

    /// Where Silero VAD's weights live in the models directory.
    public static let sileroFolder = "silero-vad"
    public static let sileroFile = "model.safetensors"
}
