import Foundation
import StreamEngine

/// A labels CSV in MER 2023's form: a header whose first column is `name`, then one row per
/// clip; training and evaluation also need `discrete` (one of the label names) and `valence`
/// (a number, or empty where the corpus has none: read as NaN, which training leaves out of
/// the valence loss and evaluation out of the MSE). The one reader of these files: each error
/// names the file and the line.
package struct LabelsCSV: Sendable, Equatable {
    package struct Row: Sendable, Equatable {
        package var name: String
        /// Every field as written, `name` first: what a copy of the row carries over.
        package var fields: [String]
        /// Index into the label names; nil when labels were not read.
        package var label: Int?
        /// Nil when labels were not read; NaN when the row has no valence (an empty field).
        package var valence: Float?

        package init(name: String, fields: [String], label: Int? = nil, valence: Float? = nil) {
            self.name = name
            self.fields = fields
            self.label = label
            self.valence = valence
        }
    }

    /// Where the table was read from (in errors), or what made it.
    package var source: String
    /// The header's column names, lower-cased; `name` first.
    package var columns: [String]
    package var rows: [Row]

    package init(source: String, columns: [String], rows: [Row]) {
        self.source = source
        self.columns = columns
        self.rows = rows
    }

    /// The clip names, in the file's order.
    package var names: [String] { rows.map(\.name) }
    /// Each row's label index; empty when labels were not read (a prediction's input).
    package var labels: [Int] { rows.compactMap(\.label) }
    /// Each row's valence; empty when labels were not read.
    package var valence: [Float] { rows.compactMap(\.valence) }

    /// Reads `path`. With `requireLabels`, every row's `discrete` and `valence` are checked and
    /// read; without, only the names (the other columns may be anything, or absent).
    package static func read(_ path: String, labelNames: [String] = FusionArchitecture.merLabels,
                             requireLabels: Bool = true) throws(FusionError) -> LabelsCSV {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .invalidDataset(file: path, reason: "cannot read the labels CSV (\(error.localizedDescription))")
        }
        return try LabelsCSV(parsing: text, source: path, labelNames: labelNames, requireLabels: requireLabels)
    }

    /// Parses CSV text (fields split at commas and trimmed; blank lines skipped but counted).
    package init(parsing text: String, source: String, labelNames: [String] = FusionArchitecture.merLabels,
                 requireLabels: Bool = true) throws(FusionError) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, fields: Self.fields($0.element)) }
            .filter { $0.fields != [""] }
        guard let header = lines.first else {
            throw .invalidDataset(file: source, reason: "empty labels CSV; the first line must be the header name,discrete,valence")
        }
        let columns = header.fields.map { $0.lowercased() }
        guard columns.first == "name" else {
            throw .invalidLabels(file: source, line: header.number,
                                 reason: "the header must start with name (name,discrete,valence), not '\(header.fields.joined(separator: ","))'")
        }
        let discreteColumn = columns.firstIndex(of: "discrete"), valenceColumn = columns.firstIndex(of: "valence")
        if requireLabels && (discreteColumn == nil || valenceColumn == nil) {
            throw .invalidLabels(file: source, line: header.number,
                                 reason: "training and evaluation need the columns discrete and valence (the header has \(columns.joined(separator: ",")))")
        }
        var rows: [Row] = []
        var lineOf: [String: Int] = [:]
        for line in lines.dropFirst() {
            let fields = line.fields
            guard fields.count == columns.count else {
                throw .invalidLabels(file: source, line: line.number, reason: "\(fields.count) fields, the header has \(columns.count)")
            }
            let name = fields[0]
            guard !name.isEmpty else { throw .invalidLabels(file: source, line: line.number, reason: "no clip name") }
            if let first = lineOf[name] {
                throw .invalidLabels(file: source, line: line.number, reason: "clip '\(name)' is already on line \(first)")
            }
            lineOf[name] = line.number
            var row = Row(name: name, fields: fields)
            if requireLabels, let discreteColumn, let valenceColumn {
                guard let label = labelNames.firstIndex(of: fields[discreteColumn].lowercased()) else {
                    throw .invalidLabels(file: source, line: line.number,
                                         reason: "label '\(fields[discreteColumn])' is not one of \(labelNames.joined(separator: ", "))")
                }
                let field = fields[valenceColumn]
                guard let valence = field.isEmpty ? Float.nan : Float(field), valence.isFinite || field.isEmpty else {
                    throw .invalidLabels(file: source, line: line.number, reason: "valence '\(field)' is not a number (leave it empty when unknown)")
                }
                (row.label, row.valence) = (label, valence)
            }
            rows.append(row)
        }
        self.init(source: source, columns: columns, rows: rows)
    }

    private static func fields(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The table for the dataset rows `names`: a clip's row, and each `#aug` copy with its
    /// clip's fields under its own name.
    package func rows(for names: [ClipName]) throws(FusionError) -> LabelsCSV {
        let byName = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [Row] = []
        for name in names {
            guard var row = byName[name.clip] else {
                throw .invalidDataset(file: source, reason: "no row for clip '\(name.clip)'")
            }
            row.name = name.description
            row.fields[0] = row.name
            result.append(row)
        }
        return LabelsCSV(source: source, columns: columns, rows: result)
    }

    /// The CSV text: the header, then each row's fields.
    package var text: String {
        ([columns] + rows.map(\.fields)).map { $0.joined(separator: ",") + "\n" }.joined()
    }

    /// Writes `text` to `path`, atomically.
    package func write(to path: String) throws(FusionError) {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw .invalidDataset(file: path, reason: "cannot write (\(error.localizedDescription))")
        }
    }
}
