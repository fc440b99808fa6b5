import Foundation
import FusionTraining
import NeuralKit
import TestSupport
import Testing

/// `merd dataset import` and `merd train --dataset`: each corpus's layout (CorpusFixtures)
/// imported, trained, installed, and the installed model used by `merd analyze`. Features come
/// from the random small HuBERT fixture (layers 2 and 5, copied in as the models directory's
/// hubert-large) and the pretrained face models that `tools/fetch-default-models` installs
/// (CI installs them).
@Suite("merd dataset import and merd train --dataset", .serialized)
struct DatasetCommandTests {

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// A models directory as merd lays one out: the HuBERT fixture as hubert-large (a copy:
    /// merd records its checksum beside it), links to the pretrained face models and Silero
    /// VAD; the installed fusion model lands in it.
    static func modelsDirectory() throws -> String {
        let pretrained = try #require(TestPaths.pretrainedModels, "the pretrained face models (tools/fetch-default-models)")
        let directory = CorpusFixtures.temporary("models")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("hubert/large"), toPath: directory + "/hubert-large")
        for name in ["mtcnn", "dlib-landmarks-68", "mini-xception-fer2013", "silero-vad"] where FileManager.default.fileExists(atPath: pretrained + "/" + name) {
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: pretrained + "/" + name)
        }
        return directory
    }

    static func importCorpus(_ kind: String, _ source: String) throws -> (out: String, labels: LabelsCSV, stderr: String) {
        let out = CorpusFixtures.temporary("\(kind)-dataset")
        let result = try MerdProcess.run("dataset", "import", kind, source, "--out", out)
        try #require(result.status == 0, "\(result.stderr)")
        return (out, try LabelsCSV.read(out + "/labels.csv", requireLabels: true), result.stderr)
    }

    static func train(_ dataset: String, models: String, extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try MerdProcess.run(["train", "--dataset", dataset, "--models", models, "--layers", "2,5", "--every", "5",
                             "--epochs", "3", "--folds", "2", "--progress", "json"] + extra)
    }

    // MARK: Importers

    @Test("RAVDESS: AV clips used, an audio-only utterance kept, song, video-only, audio copies and disgust skipped; calm → neutral, fearful → worried")
    func ravdess() throws {
        let source = try CorpusFixtures.ravdess()
        let (out, table, stderr) = try Self.importCorpus("ravdess", source)
        defer { for path in [source, out] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(table.rows.count == 8, "\(table.names)")
        let byName = Dictionary(uniqueKeysWithValues: table.rows.map { ($0.name, $0.fields[1]) })
        #expect(byName["01-01-01-01-01-01-01"] == "neutral" && byName["01-01-02-01-01-04-01"] == "neutral", "calm is neutral")
        #expect(byName["01-01-06-01-01-03-01"] == "worried" && byName["01-01-08-01-02-03-02"] == "surprise")
        #expect(byName["03-01-05-02-02-02-03"] == "angry", "an audio-only utterance without an AV file is kept")
        #expect(table.valence.allSatisfy { $0.isNaN }, "RAVDESS has no valence: left empty")
        for reason in ["song", "video only", "audio-only copy", "disgust: no MER 2023 label"] {
            #expect(stderr.contains(reason), "\(reason): \(stderr)")
        }
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: out + "/clips/01-01-01-01-01-01-01.mp4")
        #expect(link.hasSuffix("Actor_01/01-01-01-01-01-01-01.mp4") && link.hasPrefix("/"), "clips are absolute links, not copies")
        let record = try #require(try DatasetRecord.read(directory: out))
        #expect(record.corpus == "ravdess" && record.clips == 8 && !record.audioOnly && !record.hasValence)
        #expect(record.labelMap["disgust"] == "skipped" && record.labelMap["calm"] == "neutral")
    }

    @Test("CREMA-D: the video of a clip before its WAV; DIS skipped; FEA → worried")
    func cremaD() throws {
        let source = try CorpusFixtures.cremaD()
        let (out, table, stderr) = try Self.importCorpus("crema-d", source)
        defer { for path in [source, out] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(table.rows.count == 7)
        #expect(table.rows.first { $0.name == "1005_IWL_FEA_XX" }?.fields[1] == "worried")
        #expect(FileManager.default.fileExists(atPath: out + "/clips/1001_DFA_NEU_XX.flv"), "the video, not the WAV")
        #expect(stderr.contains("another copy") && stderr.contains("DIS: no MER 2023 label"), "\(stderr)")
    }

    @Test("MER 2023: its labels CSV as is, valence kept; a labelled clip without a file skipped")
    func mer2023() throws {
        let source = try CorpusFixtures.mer2023()
        let (out, table, stderr) = try Self.importCorpus("mer2023", source)
        defer { for path in [source, out] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(table.names == CorpusFixtures.merRows.map(\.name).sorted())
        let expected = Dictionary(uniqueKeysWithValues: CorpusFixtures.merRows.map { ($0.name, Float($0.valence)!) })
        #expect(zip(table.names, table.valence).allSatisfy { expected[$0] == $1 }, "\(table.valence)")
        #expect(stderr.contains("no media file for a labelled clip"))
        let record = try #require(try DatasetRecord.read(directory: out))
        #expect(record.hasValence)
    }

    @Test("MELD: quoted utterances with commas, quotes and line breaks read; splits keep their ids apart; disgust and missing files skipped")
    func meld() throws {
        let source = try CorpusFixtures.meld()
        let (out, table, stderr) = try Self.importCorpus("meld", source)
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: source).deletingLastPathComponent().path) }
        #expect(Set(table.names) == ["train_dia0_utt0", "train_dia0_utt1", "train_dia1_utt0", "train_dia1_utt1", "train_dia2_utt0",
                                     "dev_dia0_utt0", "dev_dia0_utt1"])
        #expect(table.rows.first { $0.name == "train_dia0_utt1" }?.fields[1] == "happy", "joy → happy")
        #expect(table.rows.first { $0.name == "dev_dia0_utt0" }?.fields[1] == "surprise")
        #expect(stderr.contains("disgust: no MER 2023 label") && stderr.contains("no media file"), "\(stderr)")
    }

    @Test("EmoDB as published: audio only, boredom and disgust skipped")
    func emodb() throws {
        let (out, table, stderr) = try Self.importCorpus("emodb", TestPaths.sharedData("emodb"))
        defer { try? FileManager.default.removeItem(atPath: out) }
        // 243 files: 35 boredom and 12 disgust have no MER label.
        #expect(table.rows.count == 196 && stderr.contains("audio only"))
        let record = try DatasetRecord.read(directory: out)
        #expect(record?.audioOnly == true)
    }

    @Test("bad requests: an unknown corpus, a missing directory, a directory without the corpus, a malformed MELD CSV — exit 2, one line naming it")
    func badImports() throws {
        let out = CorpusFixtures.temporary("out")
        let unknown = try MerdProcess.run("dataset", "import", "iemocap", "/tmp", "--out", out)
        #expect(unknown.status == 2 && unknown.stderr.contains("'iemocap' is not a corpus merd imports"))
        let missing = try MerdProcess.run("dataset", "import", "ravdess", "/nonexistent/corpus", "--out", out)
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/corpus") && missing.stderr.contains("no such directory"))
        let empty = CorpusFixtures.temporary("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let wrong = try MerdProcess.run("dataset", "import", "crema-d", empty, "--out", out)
        #expect(wrong.status == 2 && wrong.stderr.contains("no CREMA-D clips found"))
        try "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID\n1,\"never closed,Ross,joy,positive,0,0\n"
            .write(toFile: empty + "/train_sent_emo.csv", atomically: true, encoding: .utf8)
        let quote = try MerdProcess.run("dataset", "import", "meld", empty, "--out", out)
        #expect(quote.status == 2 && quote.stderr.contains("train_sent_emo.csv:2: a quoted field never ends"), "\(quote.stderr)")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        for result in [unknown, missing, wrong, quote] { #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }

    // MARK: Import → train → install → analyze

    @Test("each corpus: import → train --dataset --install → merd analyze decides emotion with the installed model",
          arguments: ["ravdess", "crema-d", "mer2023", "meld", "emodb"])
    func endToEnd(corpus: String) throws {
        let source: String
        switch corpus {
        case "ravdess": source = try CorpusFixtures.ravdess()
        case "crema-d": source = try CorpusFixtures.cremaD()
        case "mer2023": source = try CorpusFixtures.mer2023()
        case "meld": source = try CorpusFixtures.meld()
        default: source = TestPaths.sharedData("emodb")
        }
        let models = try Self.modelsDirectory()
        let (dataset, table, _) = try Self.importCorpus(corpus, source)
        defer {
            for path in [models, dataset] { try? FileManager.default.removeItem(atPath: path) }
            if corpus != "emodb" { try? FileManager.default.removeItem(atPath: source) }
        }
        let trained = try Self.train(dataset, models: models, extra: ["--install"])
        try #require(trained.status == 0, "\(trained.stderr)")
        let lines = Self.jsonLines(trained.stdout)
        let last = try #require(lines.last { $0["event"] as? String == "features" })
        #expect(last["done"] as? Int == table.rows.count && last["computed"] as? Int == table.rows.count)
        // Each structure says how long its cross-validation took, over how many training
        // clips: 2 folds, each trained on the other's clips, 3 epochs.
        let structures = lines.filter { $0["event"] as? String == "structure" }
        #expect(!structures.isEmpty && structures.allSatisfy {
            ($0["seconds"] as? Double ?? 0) > 0 && $0["training_clips"] as? Int == table.rows.count * 3
        }, "\(structures)")
        let installed = try #require(lines.first { $0["event"] as? String == "installed" })
        #expect(installed["path"] as? String == models + "/fusion")
        #expect(installed["valence_trained"] as? Bool == (corpus == "mer2023"))
        // The manifest says where the model came from.
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: models + "/fusion/model.json"))) as? [String: Any])
        let training = try #require(manifest["training"] as? [String: Any])
        #expect(training["corpus"] as? String == corpus && training["clips"] as? Int == table.rows.count)
        let featureModels = try #require(training["feature_models"] as? [[String: Any]])
        #expect(featureModels.contains { $0["role"] as? String == "speech" && ($0["sha256"] as? String)?.count == 64 })
        #expect(featureModels.contains { $0["role"] as? String == "face-encoder" } == (corpus != "emodb"), "\(featureModels)")
        #expect((manifest["files"] as? [[String: Any]])?.first?["sha256"] as? String != nil)
        let members = try #require(manifest["members"] as? [[String: Any]])
        #expect(members.count == (corpus == "emodb" ? 1 : 3), "audio-only trains structure 1 alone")

        // merd analyze with that models directory uses the installed model.
        let clip = corpus == "emodb" ? TestPaths.sharedData("emodb/wav/03a01Wa.wav") : CorpusFixtures.grid[2]
        let analysed = try MerdProcess.run("analyze", clip, "--models", models, "--layers", "2,5")
        #expect(analysed.status == 0, "\(analysed.stderr)")
        let utterances = Self.jsonLines(analysed.stdout).filter { $0["type"] as? String == "utterance" }
        try #require(!utterances.isEmpty, "\(analysed.stdout)")
        for utterance in utterances {
            let source = try #require(utterance["source"] as? [String: Any])
            #expect(source["emotion"] as? String == "fusion", "\(utterance)")
            #expect((source["valence"] as? String == "fusion") == (corpus == "mer2023"),
                    "valence from the fusion model only when it was trained on valence: \(utterance)")
        }
    }

    // MARK: The feature cache

    @Test("kill -9 during extraction, then a rerun: finished clips come from the cache (counted), only the rest are computed; a damaged entry is recomputed, never used")
    func resumesAfterKill() throws {
        // Fourteen distinct clips (each GRID clip as MP4 and as MKV), every frame analysed, so
        // extraction takes long enough to be caught part way.
        let corpus = CorpusFixtures.temporary("resume")
        var rows = ["name,discrete,valence"]
        for (i, clip) in CorpusFixtures.grid.enumerated() {
            for ext in ["mp4", "mkv"] {
                let name = "clip\(i)\(ext)"
                try CorpusFixtures.remux(clip, to: corpus + "/clips/\(name).\(ext)")
                rows.append("\(name),\(["neutral", "happy", "sad"][(i + (ext == "mkv" ? 1 : 0)) % 3]),\(Float(i) - 3)")
            }
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: corpus + "/labels.csv", atomically: true, encoding: .utf8)
        let models = try Self.modelsDirectory()
        let out = CorpusFixtures.temporary("resume-model")
        defer { for path in [corpus, models, out] { try? FileManager.default.removeItem(atPath: path) } }
        let arguments = ["train", "--dataset", corpus, "--models", models, "--layers", "2,5", "--every", "1",
                         "--epochs", "2", "--folds", "2", "--progress", "json", "--out", out]

        let process = Process()
        process.environment = MerdProcess.environment
        process.executableURL = MerdProcess.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        func entries() -> [String] {
            guard let folder = try? FileManager.default.contentsOfDirectory(atPath: corpus + "/cache").first(where: { !$0.hasPrefix(".") }) else { return [] }
            return ((try? FileManager.default.contentsOfDirectory(atPath: corpus + "/cache/" + folder)) ?? [])
                .filter { $0.hasSuffix(".safetensors") }.map { corpus + "/cache/" + folder + "/" + $0 }
        }
        let deadline = Date().addingTimeInterval(120)
        while entries().count < 3 && process.isRunning && Date() < deadline { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let finished = entries()
        try #require(process.terminationReason == .uncaughtSignal, "killed part way, not finished")
        try #require((3..<14).contains(finished.count), "\(finished.count) entries")
        for entry in finished { #expect((try? SafeTensorsFile(path: entry)) != nil, "\(entry) is whole") }

        let resumed = try MerdProcess.run(arguments)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let progress = Self.jsonLines(resumed.stdout).filter { $0["event"] as? String == "features" }
        let last = try #require(progress.last)
        print("feature cache: killed after \(finished.count) of 14 clips; the rerun read \(last["cached"] ?? "?") and computed \(last["computed"] ?? "?")")
        #expect(last["cached"] as? Int == finished.count && last["computed"] as? Int == 14 - finished.count)
        #expect(FileManager.default.fileExists(atPath: out + "/model.json"))

        // A damaged entry (truncated) is reported and computed again.
        let damaged = try #require(entries().first)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: damaged))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: damaged))
        let again = try MerdProcess.run(arguments)
        try #require(again.status == 0, "\(again.stderr)")
        let lines = Self.jsonLines(again.stdout)
        #expect(lines.contains { $0["event"] as? String == "warning" && ($0["message"] as? String)?.contains("computing") == true }, "\(again.stdout)")
        let final = try #require(lines.last { $0["event"] as? String == "features" })
        #expect(final["computed"] as? Int == 1 && final["cached"] as? Int == 13)
    }

    @Test("--augment: each clip's copies extracted and cached apart, drawn per clip and copy, so a rerun and more copies compute only what is new")
    func augmentedCopies() throws {
        let corpus = CorpusFixtures.temporary("augment")
        var rows = ["name,discrete,valence"]
        for (i, clip) in CorpusFixtures.grid.prefix(4).enumerated() {
            try FileManager.default.createDirectory(atPath: corpus + "/clips", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: corpus + "/clips/c\(i).mpg", withDestinationPath: clip)
            rows.append("c\(i),\(["neutral", "happy"][i % 2]),\(i)")
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: corpus + "/labels.csv", atomically: true, encoding: .utf8)
        let noise = CorpusFixtures.temporary("noise")
        try CorpusFixtures.copy(CorpusFixtures.speech, to: noise + "/babble.wav")
        let models = try Self.modelsDirectory()
        defer { for path in [corpus, noise, models] { try? FileManager.default.removeItem(atPath: path) } }
        func run(copies: Int) throws -> [String: Any] {
            let result = try Self.train(corpus, models: models, extra: ["--augment", "audio-snr=5:11,image=solarize,blur", "--copies", "\(copies)",
                                                                       "--noise-dir", noise, "--out", corpus + "/model"])
            try #require(result.status == 0, "\(result.stderr)")
            return try #require(Self.jsonLines(result.stdout).last { $0["event"] as? String == "features" })
        }
        let first = try run(copies: 2)
        #expect(first["total"] as? Int == 12 && first["computed"] as? Int == 12, "4 clips and 2 copies each: \(first)")
        let again = try run(copies: 2)
        #expect(again["computed"] as? Int == 0 && again["cached"] as? Int == 12, "\(again)")
        let more = try run(copies: 3)
        #expect(more["computed"] as? Int == 4 && more["cached"] as? Int == 12, "only each clip's third copy is new: \(more)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: corpus + "/model/model.json"))) as? [String: Any])
        #expect((manifest["training"] as? [String: Any])?["clips"] as? Int == 16)
        // A copy's features are not its clip's: the corruption reached them.
        let cacheFolders = try FileManager.default.contentsOfDirectory(atPath: corpus + "/cache").filter { !$0.hasPrefix(".") }
        #expect(cacheFolders.count == 2, "clean and augmented entries apart: \(cacheFolders)")
        let entries = try cacheFolders.flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: corpus + "/cache/" + folder).filter { $0.hasSuffix(".safetensors") }.map { corpus + "/cache/" + folder + "/" + $0 }
        }
        func stem(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }
        let clean = try #require(entries.first { !stem($0).contains("-aug") })
        let copy = try #require(entries.first { stem($0) == stem(clean) + "-aug1" })
        let a = try SafeTensorsFile(path: clean).tensor("HL5"), b = try SafeTensorsFile(path: copy).tensor("HL5")
        #expect(a.maxAbsoluteDifference(b) > 1e-3, "speech noise changed the copy's HuBERT states")
    }

    @Test("bad training requests: no labels.csv, clips missing, both --out and --install, a bad --progress — exit 2, one line")
    func badTraining() throws {
        let models = try Self.modelsDirectory()
        let dataset = CorpusFixtures.temporary("bad")
        try FileManager.default.createDirectory(atPath: dataset + "/clips", withIntermediateDirectories: true)
        defer { for path in [models, dataset] { try? FileManager.default.removeItem(atPath: path) } }
        let noLabels = try Self.train(dataset, models: models, extra: ["--install"])
        #expect(noLabels.status == 2 && noLabels.stderr.contains("labels.csv"), "\(noLabels.stderr)")
        try "name,discrete,valence\nabsent,happy,\n".write(toFile: dataset + "/labels.csv", atomically: true, encoding: .utf8)
        let noClip = try Self.train(dataset, models: models, extra: ["--install"])
        #expect(noClip.status == 2 && noClip.stderr.contains("absent"), "\(noClip.stderr)")
        let both = try Self.train(dataset, models: models, extra: ["--install", "--out", dataset + "/m"])
        #expect(both.status == 2 && both.stderr.contains("--out DIR or --install"))
        let progress = try MerdProcess.run("train", "--dataset", dataset, "--install", "--progress", "fancy")
        #expect(progress.status == 2 && progress.stderr.contains("--progress takes auto, json, none"))
        for result in [noLabels, noClip, both, progress] { #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: models + "/fusion"))
    }
}
