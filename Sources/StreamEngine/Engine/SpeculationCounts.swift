/// What the engine's last windows run ahead of a confirmed end came to, and what they cost.
///
/// A speculation starts when a pause begins (`SpeechFeed`); most pauses inside speech are
/// short, so many are dropped when speech resumes. What a dropped one costs depends on how
/// soon it notices (between layers) and on how loaded the compute queue is: the seconds
/// here are the compute queue's time spent on them, which the utterance's own windows waited
/// for.
public struct SpeculationCounts: Sendable, Equatable {
    /// Run to the end, ahead of the confirmed end.
    public var run = 0
    /// Of those, became an utterance's features (the rest were pauses inside speech).
    public var used = 0
    /// Dropped on the way because speech resumed.
    public var dropped = 0
    /// The compute queue's seconds on the ones run to the end.
    public var runSeconds = 0.0
    /// The compute queue's seconds on the dropped ones.
    public var droppedSeconds = 0.0

    public init() {}
}
