import Foundation
import StreamEngine

/// MER 2023 (Lian et al. 2023): a labels CSV with the columns `name`, `discrete`, `valence`
/// (the release's `train_label.csv`; any CSV in the directory with those columns is taken) and
/// one media file per clip named by `name`, anywhere below (video before audio). Labels are
/// MER's own six; valence is on [-5, 5].
enum MER2023Corpus {
    static func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        let files = try CorpusFiles.list(directory)
        var skipped: [String: [String]] = [:]
        // Media by stem, video preferred.
        var media: [String: String] = [:]
        for path in files {
            let ext = CorpusFiles.pathExtension(path)
            guard CorpusFiles.videoExtensions.contains(ext) || CorpusFiles.audioExtensions.contains(ext) else { continue }
            let stem = CorpusFiles.stem(path)
            if let existing = media[stem] {
                let existingIsVideo = CorpusFiles.videoExtensions.contains(CorpusFiles.pathExtension(existing))
                let replace = !existingIsVideo && CorpusFiles.videoExtensions.contains(ext)
                skipped["another copy of a clip (video is used before audio)", default: []].append(replace ? existing : path)
                if replace { media[stem] = path }
            } else {
                media[stem] = path
            }
        }
        var tables: [(path: String, rows: [(line: Int, fields: [String])], columns: [String])] = []
        for path in files where CorpusFiles.pathExtension(path) == "csv" {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let records: [(line: Int, fields: [String])]
            do { records = try CSVRecords.parse(text) } catch {
                if case .unterminatedQuote(let line) = error { throw .malformed(file: path, line: line, reason: "a quoted field never ends") }
                continue
            }
            guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
                  ["name", "discrete", "valence"].allSatisfy(header.contains) else { continue }
            tables.append((path, Array(records.dropFirst()), header))
        }
        guard !tables.isEmpty else {
            throw .noClips(directory: directory, corpus: .mer2023, expected: "a labels CSV with the columns name,discrete,valence and the clips it names")
        }
        let map = CorpusKind.mer2023.labelMap
        var clips: [CorpusImport.Clip] = []
        var seen: [String: String] = [:]
        for table in tables {
            let (n, d, v) = (table.columns.firstIndex(of: "name")!, table.columns.firstIndex(of: "discrete")!, table.columns.firstIndex(of: "valence")!)
            for record in table.rows {
                guard record.fields.count == table.columns.count else {
                    throw .malformed(file: table.path, line: record.line, reason: "\(record.fields.count) fields, the header has \(table.columns.count)")
                }
                let name = record.fields[n].trimmingCharacters(in: .whitespaces)
                let emotion = record.fields[d].trimmingCharacters(in: .whitespaces).lowercased()
                let valenceField = record.fields[v].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, !name.contains("#") else {
                    throw .malformed(file: table.path, line: record.line, reason: "'\(name)' cannot name a clip")
                }
                guard let label = map[emotion] ?? nil else {
                    throw .malformed(file: table.path, line: record.line,
                                     reason: "label '\(record.fields[d])' is not one of \(FusionArchitecture.merLabels.joined(separator: ", "))")
                }
                var valence: Float?
                if !valenceField.isEmpty {
                    guard let value = Float(valenceField), value.isFinite else {
                        throw .malformed(file: table.path, line: record.line, reason: "valence '\(valenceField)' is not a number")
                    }
                    valence = value
                }
                if let first = seen[name] {
                    skipped["named again (first in \(URL(fileURLWithPath: first).lastPathComponent))", default: []].append(table.path + ":\(record.line)")
                    continue
                }
                seen[name] = table.path
                guard let path = media[name] else {
                    skipped["no media file for a labelled clip", default: []].append(table.path + ":\(record.line) \(name)")
                    continue
                }
                clips.append(.init(name: name, path: path, label: label, sourceLabel: emotion, valence: valence))
            }
        }
        guard !clips.isEmpty else {
            throw .noClips(directory: directory, corpus: .mer2023, expected: "media files named as the labels CSV's name column")
        }
        return CorpusImport(corpus: .mer2023, source: directory, clips: clips, skipped: skipped,
                            audioOnly: clips.allSatisfy { CorpusFiles.audioExtensions.contains(CorpusFiles.pathExtension($0.path)) })
    }
}
