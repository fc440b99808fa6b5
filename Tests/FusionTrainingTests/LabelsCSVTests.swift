import Foundation
@testable import FusionTraining
import StreamEngine
import TestSupport
import Testing

@Suite("Labels CSV: one reader, errors naming the file and the line")
struct LabelsCSVTests {
    @Test("names, label indices and valence in file order; blank lines skipped; case and spaces forgiven")
    func reads() throws {
        let table = try LabelsCSV(parsing: "Name, Discrete ,valence\r\nclip1,happy,2.5\n\n clip2 , Neutral,-1\n", source: "t.csv")
        #expect(table.columns == ["name", "discrete", "valence"])
        #expect(table.names == ["clip1", "clip2"] && table.labels == [2, 0] && table.valence == [2.5, -1])
        #expect(table.rows[1].fields == ["clip2", "Neutral", "-1"])
    }

    @Test("an empty valence is a clip without one (NaN), not an error: corpora such as RAVDESS have none")
    func missingValence() throws {
        let table = try LabelsCSV(parsing: "name,discrete,valence\na,happy,\nb,sad,-2\n", source: "t.csv")
        #expect(table.labels == [2, 3] && table.valence.count == 2 && table.valence[0].isNaN && table.valence[1] == -2)
        #expect(table.text == "name,discrete,valence\na,happy,\nb,sad,-2\n", "written back as read")
    }

    @Test("for prediction, names alone will do; other columns are not read")
    func namesOnly() throws {
        let table = try LabelsCSV(parsing: "name\nx\ny\n", source: "t.csv", requireLabels: false)
        #expect(table.names == ["x", "y"] && table.labels.isEmpty && table.valence.isEmpty)
        let unread = try LabelsCSV(parsing: "name,discrete,valence\nx,?,?\n", source: "t.csv", requireLabels: false)
        #expect(unread.names == ["x"] && unread.labels.isEmpty)
    }

    @Test("malformed files: each error names the file and the line at fault")
    func malformed() throws {
        func error(_ text: String, requireLabels: Bool = true) -> FusionError? {
            do { _ = try LabelsCSV(parsing: text, source: "labels.csv", requireLabels: requireLabels) } catch { return error }
            return nil
        }
        #expect(error("name,discrete,valence\na,happy,1\n\nb,happy\n")
                == .invalidLabels(file: "labels.csv", line: 4, reason: "2 fields, the header has 3"))
        #expect(error("name,discrete,valence\na,happy,1\nb,joyful,1\n")
                == .invalidLabels(file: "labels.csv", line: 3, reason: "label 'joyful' is not one of neutral, angry, happy, sad, worried, surprise"))
        #expect(error("name,discrete,valence\na,happy,high\n") == .invalidLabels(file: "labels.csv", line: 2, reason: "valence 'high' is not a number (leave it empty when unknown)"))
        #expect(error("name,discrete,valence\na,happy,nan\n") == .invalidLabels(file: "labels.csv", line: 2, reason: "valence 'nan' is not a number (leave it empty when unknown)"))
        #expect(error("name,discrete,valence\na,happy,1\nb,sad,0\na,sad,0\n")
                == .invalidLabels(file: "labels.csv", line: 4, reason: "clip 'a' is already on line 2"))
        #expect(error("name,discrete,valence\n,happy,1\n") == .invalidLabels(file: "labels.csv", line: 2, reason: "no clip name"))
        #expect(error("\nclip,label\na,happy\n")
                == .invalidLabels(file: "labels.csv", line: 2, reason: "the header must start with name (name,discrete,valence), not 'clip,label'"))
        #expect(error("name,valence\na,1\n")
                == .invalidLabels(file: "labels.csv", line: 1, reason: "training and evaluation need the columns discrete and valence (the header has name,valence)"))
        #expect(error("name,valence\na,1\n", requireLabels: false) == nil)
        #expect(error("\n\n") == .invalidDataset(file: "labels.csv", reason: "empty labels CSV; the first line must be the header name,discrete,valence"))
        #expect(FusionError.invalidLabels(file: "labels.csv", line: 4, reason: "2 fields, the header has 3").description
                == "labels.csv, line 4: 2 fields, the header has 3")
    }

    @Test("read names the file it cannot read; FusionDataset.load reads labels through it")
    func files() throws {
        #expect(throws: FusionError.self) { try LabelsCSV.read("/nonexistent/labels.csv") }
        let directory = NSTemporaryDirectory() + "merd-labels-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let csv = directory + "/labels.csv"
        try "name,discrete,valence\nclip0000,neutral,1\nclip0001,sad,0\nclip0001,sad,0\n".write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(throws: FusionError.invalidLabels(file: csv, line: 4, reason: "clip 'clip0001' is already on line 3")) {
            try FusionDataset.load(features: TestPaths.fixture("fusion/dataset.safetensors"), labels: csv)
        }
        let features = directory + "/features.safetensors", twoClips = directory + "/two.csv"
        try "name,discrete,valence\na,happy,1\nb,sad,0\n".write(toFile: twoClips, atomically: true, encoding: .utf8)
        try SafeTensorsWriter.write([("HL18", Tensor(shape: [2, 2])), ("MR", Tensor(shape: [2, 3]))], to: features)
        let dataset = try FusionDataset.load(features: features, labels: twoClips)
        #expect(dataset.names == ["a", "b"] && dataset.labels == [2, 3] && dataset.sizes == ["HL18": 2, "MR": 3])
        try SafeTensorsWriter.write([("HL18", Tensor(shape: [2, 2])), ("HL_18", Tensor(shape: [2, 1]))], to: features)
        #expect(throws: FusionError.invalidDataset(file: features, reason: "tensor 'HL_18' is not a feature name (HL<k> for a speech layer, or a visual feature such as MR)")) {
            try FusionDataset.load(features: features, labels: twoClips)
        }
    }

    @Test("augmented rows take their clip's fields under their own names; the text round-trips")
    func augmentedRows() throws {
        let table = try LabelsCSV(parsing: "name,discrete,valence\na,happy,1\nb,sad,-2\n", source: "t.csv")
        let rows = try table.rows(for: [ClipName(clip: "b"), ClipName(clip: "b", copy: 1), ClipName(clip: "a", copy: 2)])
        #expect(rows.text == "name,discrete,valence\nb,sad,-2\nb#aug1,sad,-2\na#aug2,happy,1\n")
        let reread = try LabelsCSV(parsing: rows.text, source: "again.csv")
        #expect(reread.names == ["b", "b#aug1", "a#aug2"] && reread.labels == [3, 3, 2] && reread.valence == [-2, -2, 1])
        #expect(throws: FusionError.invalidDataset(file: "t.csv", reason: "no row for clip 'c'")) { try table.rows(for: [ClipName(clip: "c")]) }
    }

    @Test("media files are ordered by the labels and named by their file; a # in a file name is refused")
    func mediaClips() throws {
        let table = try LabelsCSV(parsing: "name\nb\na\n", source: "t.csv", requireLabels: false)
        let ordered = try MediaClips.ordered(["/m/a.wav", "/m/b.mp4", "/m/c.wav"], by: table)
        #expect(ordered.map(\.name.description) == ["b", "a"] && ordered.map(\.path) == ["/m/b.mp4", "/m/a.wav"])
        #expect(try MediaClips.ordered(["/m/a.wav", "/m/c.wav"]).map(\.name.clip) == ["a", "c"])
        #expect(throws: FusionError.invalidDataset(file: "t.csv", reason: "names 1 clip(s) not among the media files: b")) {
            try MediaClips.ordered(["/m/a.wav"], by: table)
        }
        #expect(throws: FusionError.self) { try MediaClips.ordered(["/m/a#aug1.wav"]) }
    }
}
