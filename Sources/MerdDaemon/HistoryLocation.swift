import Foundation

/// Where the events history lives: `history.path` (or `--history`), else
/// `$STATE_DIRECTORY/history.sqlite` under systemd (the unit's `StateDirectory=merd`:
/// `/var/lib/merd`), else `$XDG_STATE_HOME/merd/history.sqlite` (`~/.local/state/merd/…`).
public enum HistoryLocation {
    /// The history file, or nil when the configuration turns history off ("").
    public static func resolve(_ configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let configured { return configured.isEmpty ? nil : configured }
        // systemd may list several state directories, separated by colons; merd's is the first.
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
            return "\(state)/history.sqlite"
        }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/merd/history.sqlite" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.local/state/merd/history.sqlite"
    }
}
