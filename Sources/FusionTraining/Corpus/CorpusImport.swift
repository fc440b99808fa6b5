import Foundation
import StreamEngine

/// A corpus as `merd dataset import` found it: the clips it keeps, with their MER label and
/// valence, and every file it skipped with the reason. `write(to:)` makes the dataset
/// directory `merd train --dataset` reads.
package struct CorpusImport: Sendable {
    package struct Clip: Sendable, Equatable {
        /// Unique within the import; the media link and the labels row are named by it.
        package var name: String
        /// The media file in the corpus.
        package var path: String
        /// One of MER 2023's labels.
        package var label: String
        /// The corpus's own label, as `CorpusKind.labelMap` spells it.
        package var sourceLabel: String
        /// On MER's [-5, 5]; nil where the corpus has none.
        package var valence: Float?
    }

    package var corpus: CorpusKind
    package var source: String
    package var clips: [Clip]
    /// Reason → the files skipped for it.
    package var skipped: [String: [String]]
    /// No clip has video: the model trained on it is audio-only.
    package var audioOnly: Bool

    package init(corpus: CorpusKind, source: String, clips: [Clip], skipped: [String: [String]], audioOnly: Bool) {
        self.corpus = corpus
        self.source = source
        self.clips = clips.sorted { $0.name < $1.name }
        self.skipped = skipped
        self.audioOnly = audioOnly
    }

    /// Clips per MER label.
    package var counts: [String: Int] { Dictionary(grouping: clips, by: \.label).mapValues(\.count) }

    /// What the import did, for a terminal: counts per label, then skips per reason.
    package var summary: [String] {
        var lines = ["\(corpus.displayName): \(clips.count) clips from \(source)"
                     + (audioOnly ? " (audio only: the model will be audio-only)" : "")]
        let labels = FusionLabelOrder.sorted(counts.keys)
        lines.append("  labels: " + labels.map { "\($0) \(counts[$0]!)" }.joined(separator: ", "))
        let mapped = corpus.labelMap.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value ?? "skipped")" }
        lines.append("  map: " + mapped.joined(separator: ", "))
        if !corpus.hasValence { lines.append("  valence: none in \(corpus.displayName); left empty (training masks it; the model reports no valence)") }
        for (reason, files) in skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("  skipped \(files.count): \(reason) (e.g. \(URL(fileURLWithPath: files[0]).lastPathComponent))")
        }
        return lines
    }

    /// The dataset directory: `labels.csv` (name,discrete,valence), `clips/NAME.EXT` symbolic
    /// links to the corpus's files (nothing is copied), `import.json` (corpus, label map,
    /// counts, skipped files). A directory imported before is replaced except its `cache/`,
    /// whose entries are keyed by content and stay valid.
    package func write(to directory: String) throws(CorpusError) {
        let manager = FileManager.default
        let clipsDirectory = directory + "/clips"
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if manager.fileExists(atPath: clipsDirectory) { try manager.removeItem(atPath: clipsDirectory) }
            try manager.createDirectory(atPath: clipsDirectory, withIntermediateDirectories: true)
            for clip in clips {
                let target = URL(fileURLWithPath: clip.path).standardizedFileURL.path
                let ext = URL(fileURLWithPath: clip.path).pathExtension
                try manager.createSymbolicLink(atPath: clipsDirectory + "/" + clip.name + (ext.isEmpty ? "" : "." + ext),
                                               withDestinationPath: target)
            }
            let rows = clips.map { clip in
                LabelsCSV.Row(name: clip.name, fields: [clip.name, clip.label, clip.valence.map { String($0) } ?? ""])
            }
            try LabelsCSV(source: directory + "/labels.csv", columns: ["name", "discrete", "valence"], rows: rows)
                .write(to: directory + "/labels.csv")
            let record = DatasetRecord(corpus: corpus.rawValue, source: URL(fileURLWithPath: source).standardizedFileURL.path,
                                       clips: clips.count, counts: counts, audioOnly: audioOnly, hasValence: corpus.hasValence,
                                       labelMap: corpus.labelMap.mapValues { $0 ?? "skipped" },
                                       skipped: skipped.mapValues(\.count))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(record).write(to: URL(fileURLWithPath: directory + "/import.json"), options: .atomic)
        } catch let error as FusionError {
            throw .cannotWrite(path: directory, reason: error.description)
        } catch {
            throw .cannotWrite(path: directory, reason: error.localizedDescription)
        }
    }
}

/// `import.json`: where a dataset directory came from, read back by `merd train --dataset`
/// into the installed model's manifest.
package struct DatasetRecord: Codable, Sendable, Equatable {
    package var corpus: String
    package var source: String
    package var clips: Int
    package var counts: [String: Int]
    package var audioOnly: Bool
    package var hasValence: Bool
    package var labelMap: [String: String]
    package var skipped: [String: Int]

    enum CodingKeys: String, CodingKey {
        case corpus, source, clips, counts, skipped
        case audioOnly = "audio_only"
        case hasValence = "has_valence"
        case labelMap = "label_map"
    }

    /// The record of the dataset at `directory`, or nil when it has none (a dataset made by hand).
    package static func read(directory: String) throws(CorpusError) -> DatasetRecord? {
        let path = directory + "/import.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(DatasetRecord.self, from: data) } catch {
            throw .malformed(file: path, line: nil, reason: "not an import record (\(error)); import the corpus again")
        }
    }
}

/// MER's label order, for listing counts.
enum FusionLabelOrder {
    static func sorted(_ labels: some Sequence<String>) -> [String] {
        let order = FusionArchitecture.merLabels
        return labels.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
    }
}
