import Locking

/// How far a loop has processed its stream on the media clock, for another loop to check.
/// Offline, a `face` event is decided only once the audio has been processed well past its
/// frame, so that whether it falls between utterances does not depend on which loop the
/// scheduler happened to run ahead.
final class MediaProgress: Sendable {
    private struct State {
        var active = false
        var reached = -Double.infinity
    }

    private let state = Locked(State())

    /// The stream started: it is behind every time from now on.
    func start() {
        state.withLock { state in
            state.active = true
            state.reached = -.infinity
        }
    }

    /// The stream has been processed up to `seconds`.
    func advance(to seconds: Double) {
        state.withLock { $0.reached = max($0.reached, seconds) }
    }

    /// The stream ended: nothing more will come.
    func end() {
        state.withLock { $0.active = false }
    }

    /// Whether the stream has reached `seconds`, or is not running (nothing more will come).
    func hasReached(_ seconds: Double) -> Bool {
        state.withLock { !$0.active || $0.reached >= seconds }
    }
}
