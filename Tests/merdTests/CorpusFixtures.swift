import Foundation
import TestSupport

/// Small corpora in each importer's published layout, made from ../shared/data: GRID clips
/// renamed and re-muxed by ffmpeg into RAVDESS, CREMA-D, MER 2023 and MELD naming, plus the
/// files each importer must skip. The importers only name-match what they skip, so those are
/// copies of any clip.
enum CorpusFixtures {
    static let grid = ["bbaf2n", "brbk7n", "id2_vcd_swwp2s", "lbax4n", "lbbc2a", "lrwp9a", "sbwe5n"].map { TestPaths.sharedData("grid/\($0).mpg") }
    static let speech = TestPaths.sharedData("emodb/wav/03a01Wa.wav")

    static func temporary(_ name: String) -> String { NSTemporaryDirectory() + "merd-\(UUID().uuidString)-\(name)" }

    /// `input` re-muxed (re-encoded where the container needs it) into `output`.
    static func remux(_ input: String, to output: String) throws {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let codecs: [String]
        switch URL(fileURLWithPath: output).pathExtension {
        case "mp4", "flv": codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "44100"]
        case "wav": codecs = ["-vn", "-c:a", "pcm_s16le"]
        default: codecs = ["-c", "copy"]
        }
        _ = try ProcessOutput.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", input] + codecs + [output])
    }

    static func copy(_ input: String, to output: String) throws {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: input, toPath: output)
    }

    /// RAVDESS: seven audio-video clips (neutral, happy, sad, angry, fearful, surprised, calm),
    /// one audio-only utterance; skipped: an audio-only copy of an AV clip, a video-only file,
    /// a song, a disgust clip.
    static func ravdess() throws -> String {
        let root = temporary("ravdess")
        let emotions = ["01", "03", "04", "05", "06", "08", "02"]
        for (i, clip) in grid.enumerated() {
            try remux(clip, to: root + "/Actor_0\(i % 2 + 1)/01-01-\(emotions[i])-01-0\(i % 2 + 1)-0\(i / 2 + 1)-0\(i % 2 + 1).mp4")
        }
        try remux(grid[0], to: root + "/Actor_01/03-01-01-01-01-01-01.wav")  // audio-only copy of clip 0
        try copy(speech, to: root + "/Actor_03/03-01-05-02-02-02-03.wav")  // audio only, no AV file: kept
        try copy(grid[1], to: root + "/Actor_01/02-01-03-01-01-01-01.mp4")  // video only
        try copy(grid[1], to: root + "/Actor_01/01-02-03-01-01-01-01.mp4")  // song
        try copy(grid[2], to: root + "/Actor_02/01-01-07-01-01-01-02.mp4")  // disgust
        return root
    }

    /// CREMA-D: seven clips in VideoFlash (NEU, HAP, SAD, ANG, FEA, NEU, HAP); skipped: the
    /// WAV of a clip that has video, a disgust clip.
    static func cremaD() throws -> String {
        let root = temporary("crema-d")
        let emotions = ["NEU", "HAP", "SAD", "ANG", "FEA", "NEU", "HAP"], sentences = ["DFA", "IEO", "ITH", "ITS", "IWL", "IWW", "MTI"]
        for (i, clip) in grid.enumerated() {
            try remux(clip, to: root + "/VideoFlash/100\(i + 1)_\(sentences[i])_\(emotions[i])_XX.flv")
        }
        try remux(grid[0], to: root + "/AudioWAV/1001_DFA_NEU_XX.wav")
        try copy(grid[1], to: root + "/VideoFlash/1008_DFA_DIS_XX.flv")
        return root
    }

    /// MER 2023: `train_label.csv` (name,discrete,valence) and `video/` (MP4, two AVI); one
    /// labelled clip has no file.
    static let merRows: [(name: String, label: String, valence: String)] = [
        ("sample_00000007", "neutral", "0.0"), ("sample_00000013", "happy", "3.2"), ("sample_00000021", "sad", "-2.8"),
        ("sample_00000034", "angry", "-3.5"), ("sample_00000055", "worried", "-1.6"), ("sample_00000089", "surprise", "1.4"),
        ("sample_00000144", "happy", "2.0"),
    ]

    static func mer2023() throws -> String {
        let root = temporary("mer2023")
        for (i, row) in merRows.enumerated() {
            try remux(grid[i], to: root + "/video/\(row.name)." + (i < 2 ? "avi" : "mp4"))
        }
        let text = "name,discrete,valence\n" + (merRows + [("sample_00000233", "neutral", "0.5")]).map { "\($0.name),\($0.label),\($0.valence)" }
            .joined(separator: "\n") + "\n"
        try text.write(toFile: root + "/train_label.csv", atomically: true, encoding: .utf8)
        return root
    }

    /// MELD.Raw: train (five clips) and dev (two clips, ids reused), utterances quoted with
    /// commas and quotes; skipped: a disgust row, a row without its file.
    static func meld() throws -> String {
        let root = temporary("meld") + "/MELD.Raw"
        let header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
        func row(_ n: Int, _ emotion: String, _ dialogue: Int, _ utterance: Int) -> String {
            "\(n),\"Oh, really? \"\"Bin blue\"\", he said,\nthen left.\",Ross,\(emotion),neutral,\(dialogue),\(utterance),1,1,\"00:00:01,000\",\"00:00:04,000\"\n"
        }
        let train = [("neutral", 0, 0), ("joy", 0, 1), ("sadness", 1, 0), ("anger", 1, 1), ("fear", 2, 0)]
        for (i, (_, d, u)) in train.enumerated() { try remux(grid[i], to: root + "/train/train_splits/dia\(d)_utt\(u).mp4") }
        let trainText = header + train.enumerated().map { row($0.offset + 1, $0.element.0, $0.element.1, $0.element.2) }.joined()
            + row(6, "disgust", 3, 0) + row(7, "surprise", 3, 1)
        try trainText.write(toFile: root + "/train_sent_emo.csv", atomically: true, encoding: .utf8)
        try remux(grid[5], to: root + "/dev/dev_splits_complete/dia0_utt0.mp4")
        try remux(grid[6], to: root + "/dev/dev_splits_complete/dia0_utt1.mp4")
        try (header + row(1, "surprise", 0, 0) + row(2, "joy", 0, 1)).write(toFile: root + "/dev_sent_emo.csv", atomically: true, encoding: .utf8)
        return root
    }
}
