/// Decides, frame by frame, whether a 16 kHz stream is speech: the part of a segmenter that
/// listens (``FrameSegmenter`` turns its verdicts into utterances).
public protocol SpeechFrameDetecting: Sendable {
    var sampleRate: Int { get }
    /// Samples per frame.
    var frameSamples: Int { get }
    /// The verdict on the stream's next frame (`frameSamples` samples).
    mutating func classify(_ frame: ArraySlice<Float>) -> SpeechFrame
}

/// One frame's verdict, with hysteresis: a stricter bar to start an utterance than to
/// continue one, so that an utterance is not cut at every weak syllable.
public struct SpeechFrame: Sendable, Equatable {
    /// Speech clear enough to start an utterance.
    public var startsSpeech: Bool
    /// Speech enough to keep an utterance going.
    public var continuesSpeech: Bool

    public init(startsSpeech: Bool, continuesSpeech: Bool) {
        self.startsSpeech = startsSpeech
        self.continuesSpeech = continuesSpeech
    }
}
