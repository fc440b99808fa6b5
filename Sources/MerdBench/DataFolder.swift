import Foundation

/// Files of the shared data folder (grid/, emodb/) the benchmarks read.
package enum DataFolder {
    /// The names in `folder` ending in `suffix`, sorted (the order the benchmarks use them in).
    package static func files(in folder: String, endingIn suffix: String) throws(BenchmarkError) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { throw .missingFolder(path: folder) }
        return names.filter { $0.hasSuffix(suffix) }.sorted()
    }
}
