/// RAVDESS (Livingstone & Russo 2018): `Actor_NN/MM-VV-EE-II-SS-RR-AA.{mp4,wav}`, seven
/// two-digit fields: modality (01 audio-video, 02 video only, 03 audio only), vocal channel
/// (01 speech, 02 song), emotion (01 neutral … 08 surprised), intensity, statement,
/// repetition, actor. An utterance's audio-video file is used, its audio-only file when there is
/// no video; video-only files have no voice and songs are not speech: both skipped.
enum RAVDESSCorpus {
    static let emotions = ["01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                           "06": "fearful", "07": "disgust", "08": "surprised"]

    static func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        let map = CorpusKind.ravdess.labelMap
        var skipped: [String: [String]] = [:]
        // Utterance key (the six fields after the modality) → (modality, path), best first.
        var chosen: [String: (modality: String, path: String)] = [:]
        for path in try CorpusFiles.list(directory) {
            let fields = CorpusFiles.stem(path).split(separator: "-").map(String.init)
            guard fields.count == 7, fields.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }),
                  ["mp4", "wav"].contains(CorpusFiles.pathExtension(path)) else {
                if CorpusFiles.videoExtensions.union(CorpusFiles.audioExtensions).contains(CorpusFiles.pathExtension(path)) {
                    skipped["not RAVDESS naming (MM-VV-EE-II-SS-RR-AA)", default: []].append(path)
                }
                continue
            }
            guard emotions[fields[2]] != nil else {
                skipped["unknown emotion code", default: []].append(path)
                continue
            }
            if fields[1] == "02" {
                skipped["song (vocal channel 02): merd listens to speech", default: []].append(path)
                continue
            }
            if fields[0] == "02" {
                skipped["video only (modality 02): no voice", default: []].append(path)
                continue
            }
            let key = fields.dropFirst().joined(separator: "-")
            if let existing = chosen[key] {
                // 01 (audio-video) over 03 (audio only).
                let replace = fields[0] < existing.modality
                skipped["audio-only copy of an audio-video clip", default: []].append(replace ? existing.path : path)
                if replace { chosen[key] = (fields[0], path) }
            } else {
                chosen[key] = (fields[0], path)
            }
        }
        var clips: [CorpusImport.Clip] = []
        for (_, file) in chosen {
            let stem = CorpusFiles.stem(file.path)
            let emotion = emotions[String(stem.split(separator: "-")[2])]!
            guard let label = map[emotion]! else {
                skipped["\(emotion): no MER 2023 label", default: []].append(file.path)
                continue
            }
            clips.append(.init(name: stem, path: file.path, label: label, sourceLabel: emotion, valence: nil))
        }
        guard !clips.isEmpty else {
            throw .noClips(directory: directory, corpus: .ravdess, expected: "Actor_NN/03-01-05-01-02-01-12.wav or 01-01-….mp4")
        }
        return CorpusImport(corpus: .ravdess, source: directory, clips: clips, skipped: skipped,
                            audioOnly: chosen.values.allSatisfy { $0.modality == "03" })
    }
}
