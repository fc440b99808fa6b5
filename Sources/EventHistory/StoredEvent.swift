import Foundation

/// One event as the history keeps it: its line exactly as subscribers received it, with the
/// columns a query selects by.
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int
    /// The daemon run that emitted it (`hello.run`).
    public var run: String
    public var type: String
    /// When it was emitted (the line's `time`).
    public var time: Date
    /// The JSON line (no newline).
    public var line: String

    public init(seq: Int, run: String, type: String, time: Date, line: String) {
        self.seq = seq
        self.run = run
        self.type = type
        self.time = time
        self.line = line
    }
}
