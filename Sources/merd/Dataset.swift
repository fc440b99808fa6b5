import ArgumentParser
import FusionTraining
import MerdDaemon

/// `merd dataset`: corpora in their published layouts made into datasets `merd train` reads.
struct Dataset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Corpora into merd datasets.",
        subcommands: [DatasetImport.self])
}

/// `merd dataset import KIND DIR --out DIR`.
struct DatasetImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "A corpus in its own layout → a dataset directory: labels.csv (name,discrete,valence), clips/, import.json.",
        discussion: """
            Reads RAVDESS, CREMA-D, MER 2023, EmoDB or MELD as published, maps each corpus's labels onto MER 2023's six \
            (docs/datasets.md has the tables; an emotion MER lacks, such as disgust, is skipped, never forced onto a \
            neighbour), and writes a dataset directory: labels.csv, clips/ (links to the corpus's files, nothing copied) \
            and import.json. Valence is left empty where the corpus has none. Prints what was mapped and skipped. Then: \
            merd train --dataset OUT --install.
            """)

    @Argument(help: "ravdess, crema-d, mer2023, emodb or meld.")
    var corpus: String
    @Argument(help: "The corpus's directory, as unpacked.")
    var directory: String
    @Option(help: "The dataset directory to write (its cache/ is kept when it is written again).")
    var out: String

    func run() async throws {
        guard let kind = CorpusKind(rawValue: corpus.lowercased()) else {
            throw CommandFailure.usage("'\(corpus)' is not a corpus merd imports: \(CorpusKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let imported: CorpusImport
        do { imported = try kind.scan(directory) } catch { throw CommandFailure.usage(error.description) }
        do { try imported.write(to: out) } catch { throw CommandFailure.runtime(error.description) }
        for line in imported.summary { writeError(line) }
        print("\(out): \(imported.clips.count) clips; next: merd train --dataset \(out) --install")
    }
}
