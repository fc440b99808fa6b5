import Foundation

/// What `merd subscribe` prints for each line it receives.
public enum SubscriberOutput: Sendable, Equatable {
    /// One readable line per message (`ReadableEvent`), times in `timeZone`.
    case readable(TimeZone)
    /// The lines exactly as received: for programs, which parse them themselves.
    case json

    public func line(for raw: String, received: Date) -> String {
        switch self {
        case .readable(let timeZone): return ReadableEvent.line(for: raw, received: received, timeZone: timeZone)
        case .json: return raw
        }
    }
}
