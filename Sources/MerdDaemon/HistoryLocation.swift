import Foundation

/// Where the events history lives: `history.path` (or `--history`), else
/// `$STATE_DIRECTORY/history.sqlite` under systemd (the unit's `StateDirectory=merd`:
/// `/var/lib/merd`), else `$XDG_STATE_HOME/merd/history.sqlite` (`~/.local/state/merd/…`).
public enum HistoryLocation {
    /// The history file, or nil when the configuration turns history off ("").
    public static func resolve(_ configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let configured { return configured.isEmpty ? nil : configured }
        return stateDirectory(environment: environment) + "/history.sqlite"
    }

    /// The history a reader (`merd history`, `merd dashboard`) opens when not told: the
    /// systemd daemon's (`/var/lib/merd/history.sqlite`) when it exists, else this user's.
    public static func forReading(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let packaged = "/var/lib/merd/history.sqlite"
        if environment["STATE_DIRECTORY"] == nil, FileManager.default.fileExists(atPath: packaged) { return packaged }
        return stateDirectory(environment: environment) + "/history.sqlite"
    }

    /// merd's folder for state it keeps (the history, the bridge's progress): systemd's
    /// `$STATE_DIRECTORY` (it may list several, colon-separated; merd's is the first), else
    /// `$XDG_STATE_HOME/merd`, else `~/.local/state/merd`.
    public static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty { return String(state) }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/merd" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/merd"
    }
}
