import Foundation

/// The machine a benchmark ran on, for its report.
package enum HostCPU {
    /// `model name` of the first processor in /proc/cpuinfo ("unknown" where there is none).
    package static var modelName: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// Processors this process may run on.
    package static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
