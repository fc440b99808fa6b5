import Foundation

/// The process's memory as the kernel counts it (/proc/self/status), for the benchmarks'
/// RSS lines.
package enum ProcessMemory {
    /// Resident set size now, MiB (`VmRSS`).
    package static var residentMiB: Int { field("VmRSS:") / 1024 }
    /// The highest resident set size so far, MiB (`VmHWM`).
    package static var peakResidentMiB: Int { field("VmHWM:") / 1024 }

    /// `VmRSS` split into anonymous memory (what the process allocated: weights in their
    /// backend's layout, activations) and file pages (mapped checkpoints, libraries), MiB:
    /// a loader that copies weights but keeps the file's pages resident shows in `file`.
    package static var residentSummary: String {
        "\(residentMiB) MiB (anonymous \(field("RssAnon:") / 1024), file \(field("RssFile:") / 1024))"
    }

    /// A kB field of /proc/self/status, or 0 where there is none.
    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
