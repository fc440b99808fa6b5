import Foundation

/// Another program's output, for checking merd's results against an independent tool.
public enum ProcessOutput {
    /// The standard output of `executable` with `arguments`; a non-zero exit throws.
    public static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad, userInfo: ["command": "\(executable) \(arguments)"]) }
        return String(decoding: data, as: UTF8.self)
    }
}
