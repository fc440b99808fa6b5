/// Records of RFC 4180 CSV text: fields separated by commas, a field in double quotes may hold
/// commas, line breaks and doubled quotes (MELD's `Utterance` column does). Corpora's own
/// metadata files are read with it; merd's labels CSV (`LabelsCSV`) has no quoting.
package enum CSVRecords {
    /// Each record's fields, with the 1-based line it starts on. Blank lines are skipped; a
    /// quote left open at the end of the text is an error naming its line.
    package static func parse(_ text: String) throws(CSVRecordsError) -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false, wasQuoted = false
        var line = 1, recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar?

        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !wasQuoted) { records.append((recordLine, fields)) }
            fields = []
            field = ""
            wasQuoted = false
        }

        while let scalar = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    let next = iterator.next()
                    if next == "\"" { field.unicodeScalars.append("\"") } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty && !wasQuoted:
                quoted = true
                wasQuoted = true
            case ",":
                fields.append(field)
                field = ""
                wasQuoted = false
            case "\r":
                let next = iterator.next()
                if next != "\n" { pending = next }
                endRecord()
                line += 1
                recordLine = line
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if quoted { throw .unterminatedQuote(line: recordLine) }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        return records
    }
}

package enum CSVRecordsError: Error, Equatable {
    /// A quoted field that starts in the record at `line` never ends.
    case unterminatedQuote(line: Int)
}
