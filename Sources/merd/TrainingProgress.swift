import Foundation
import FusionTraining
import Locking
import MerdDaemon
#if canImport(Glibc)
import Glibc
#endif

/// How `merd train --dataset` shows its progress (`--progress`).
enum ProgressStyle: String, CaseIterable {
    /// A bar redrawn in place on a terminal; plain lines every ten seconds otherwise.
    case auto
    /// One JSON object per line on stdout, for programs (and nothing else on stdout).
    case json
    case none
}

/// Prints feature extraction's and training's progress in the chosen style, from any thread:
/// each call writes whole lines under one lock, so a warning never lands inside the bar.
final class TrainingProgress: Sendable {
    let style: ProgressStyle
    private let terminal: Bool
    private let state = Locked(State())

    private struct State {
        var lastLine = -Double.infinity
        var barShown = false
    }

    init(style: ProgressStyle) {
        self.style = style
        terminal = isatty(STDERR_FILENO) == 1
    }

    /// Before extraction: what is to be done.
    func starting(total: Int, cached: Int, workers: Int) {
        switch style {
        case .json: emit(["event": "features_start", "clips": total, "cached": cached, "workers": workers])
        case .auto: writeError("merd: features of \(total) clips (\(cached) in the cache), \(workers) at a time")
        case .none: break
        }
    }

    func clip(_ progress: DatasetExtraction.Progress) {
        state.withLock { state in show(progress, &state) }
    }

    private func show(_ progress: DatasetExtraction.Progress, _ state: inout State) {
        switch style {
        case .json:
            var object: [String: Any] = ["event": "features", "done": progress.done, "total": progress.total, "computed": progress.computed,
                                         "cached": progress.cached, "clip": progress.clip, "clips_per_second": (progress.clipsPerSecond * 100).rounded() / 100,
                                         "elapsed_seconds": (progress.elapsed * 10).rounded() / 10]
            if let eta = progress.remainingSeconds { object["eta_seconds"] = eta.rounded() }
            emit(object)
        case .auto where terminal:
            let width = 24
            let filled = progress.total > 0 ? width * progress.done / progress.total : width
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
            let line = "\r[\(bar)] \(progress.done)/\(progress.total) clips  \(Self.rate(progress))  ETA \(Self.duration(progress.remainingSeconds))  \(progress.clip)"
            FileHandle.standardError.write(Data((line.padding(toLength: max(line.count, 100), withPad: " ", startingAt: 0)).utf8))
            state.barShown = true
            if progress.done == progress.total { finishBar(&state) }
        case .auto:
            guard progress.elapsed - state.lastLine >= 10 || progress.done == progress.total else { return }
            state.lastLine = progress.elapsed
            writeError("merd: features \(progress.done)/\(progress.total) clips (\(progress.computed) computed, \(progress.cached) cached), "
                       + "\(Self.rate(progress)), ETA \(Self.duration(progress.remainingSeconds)), last \(progress.clip)")
        case .none:
            break
        }
    }

    /// A line about training (a fold's or a structure's scores).
    func note(_ text: String, json object: [String: Any]) {
        state.withLock { state in
            finishBar(&state)
            switch style {
            case .json: emit(object)
            case .auto: writeError("merd: " + text)
            case .none: break
            }
        }
    }

    /// A cache entry that could not be used, and other warnings: always shown.
    func warning(_ text: String) {
        state.withLock { state in
            finishBar(&state)
            if style == .json { emit(["event": "warning", "message": text]) } else { writeError("merd: " + text) }
        }
    }

    private func finishBar(_ state: inout State) {
        guard state.barShown else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        state.barShown = false
    }

    private func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func rate(_ progress: DatasetExtraction.Progress) -> String {
        progress.computed == 0 ? "— clips/s" : String(format: "%.2f clips/s", progress.clipsPerSecond)
    }

    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
