import Foundation

/// Where models live: `--models`, else `$MERD_MODELS`, else `/var/lib/merd/models` when it
/// exists (the packaged daemon's), else `~/.local/share/merd/models` (CLI.md).
public enum ModelsDirectory {
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let option { return option }
        if let variable = environment["MERD_MODELS"], !variable.isEmpty { return variable }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/var/lib/merd/models", isDirectory: &isDirectory), isDirectory.boolValue {
            return "/var/lib/merd/models"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/merd/models"
    }
}

