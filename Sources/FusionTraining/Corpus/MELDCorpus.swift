import Foundation

/// MELD (Poria et al. 2019), as MELD.Raw unpacks: `train_sent_emo.csv` with `train_splits/`,
/// `dev_sent_emo.csv` with `dev_splits_complete/`, `test_sent_emo.csv` with
/// `output_repeated_splits_test/`; each clip `dia<D>_utt<U>.mp4`, labelled by the CSV's
/// `Dialogue_ID`, `Utterance_ID` and `Emotion`. Clips are named `<split>_dia<D>_utt<U>`
/// because the splits reuse ids. MELD's `Sentiment` is a class, not a valence: left empty.
enum MELDCorpus {
    static let splits: [(name: String, csv: String, folders: [String])] = [
        ("train", "train_sent_emo.csv", ["train_splits"]),
        ("dev", "dev_sent_emo.csv", ["dev_splits_complete", "dev_splits"]),
        ("test", "test_sent_emo.csv", ["output_repeated_splits_test", "test_splits"]),
    ]

    static func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        let files = try CorpusFiles.list(directory)
        let map = CorpusKind.meld.labelMap
        var skipped: [String: [String]] = [:]
        var clips: [CorpusImport.Clip] = []
        var foundTable = false
        for split in splits {
            guard let csv = files.first(where: { URL(fileURLWithPath: $0).lastPathComponent == split.csv }) else { continue }
            foundTable = true
            // The split's clips: files directly in one of its folders.
            var media: [String: String] = [:]
            for path in files where CorpusFiles.videoExtensions.contains(CorpusFiles.pathExtension(path)) {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
                if split.folders.contains(folder), !CorpusFiles.stem(path).hasPrefix("._") { media[CorpusFiles.stem(path)] = path }
            }
            let text: String
            do { text = try String(contentsOfFile: csv, encoding: .utf8) } catch {
                throw .malformed(file: csv, line: nil, reason: "cannot read it as UTF-8 (\(error.localizedDescription))")
            }
            let records: [(line: Int, fields: [String])]
            do { records = try CSVRecords.parse(text) } catch {
                if case .unterminatedQuote(let line) = error { throw .malformed(file: csv, line: line, reason: "a quoted field never ends") }
                throw .malformed(file: csv, line: nil, reason: "not CSV")
            }
            guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces) }),
                  let e = header.firstIndex(of: "Emotion"), let d = header.firstIndex(of: "Dialogue_ID"), let u = header.firstIndex(of: "Utterance_ID") else {
                throw .malformed(file: csv, line: 1, reason: "the header lacks Emotion, Dialogue_ID or Utterance_ID")
            }
            for record in records.dropFirst() {
                guard record.fields.count == header.count else {
                    throw .malformed(file: csv, line: record.line, reason: "\(record.fields.count) fields, the header has \(header.count)")
                }
                let dialogue = record.fields[d].trimmingCharacters(in: .whitespaces), utterance = record.fields[u].trimmingCharacters(in: .whitespaces)
                guard Int(dialogue) != nil, Int(utterance) != nil else {
                    throw .malformed(file: csv, line: record.line, reason: "Dialogue_ID '\(dialogue)' and Utterance_ID '\(utterance)' must be numbers")
                }
                let emotion = record.fields[e].trimmingCharacters(in: .whitespaces).lowercased()
                let stem = "dia\(dialogue)_utt\(utterance)"
                guard let mapped = map[emotion] else {
                    throw .malformed(file: csv, line: record.line, reason: "emotion '\(record.fields[e])' is not one of MELD's \(map.keys.sorted().joined(separator: ", "))")
                }
                guard let label = mapped else {
                    skipped["\(emotion): no MER 2023 label", default: []].append("\(split.name)/\(stem)")
                    continue
                }
                guard let path = media[stem] else {
                    skipped["no media file for a labelled clip", default: []].append("\(split.name)/\(stem)")
                    continue
                }
                clips.append(.init(name: "\(split.name)_\(stem)", path: path, label: label, sourceLabel: emotion, valence: nil))
            }
        }
        guard foundTable, !clips.isEmpty else {
            throw .noClips(directory: directory, corpus: .meld, expected: "train_sent_emo.csv with train_splits/dia0_utt0.mp4 (and dev, test)")
        }
        return CorpusImport(corpus: .meld, source: directory, clips: clips, skipped: skipped, audioOnly: false)
    }
}
