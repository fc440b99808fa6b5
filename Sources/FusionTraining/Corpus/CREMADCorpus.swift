/// CREMA-D (Cao et al. 2014): `AudioWAV/1001_DFA_ANG_XX.wav` and `VideoFlash/1001_DFA_ANG_XX.flv`
/// (actor, sentence, emotion, level). A clip's video (which carries its voice) is used, its
/// WAV when there is no video, MP3 last.
enum CREMADCorpus {
    static func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        let map = CorpusKind.cremaD.labelMap
        let preference = ["flv": 0, "mp4": 0, "wav": 1, "mp3": 2]
        var skipped: [String: [String]] = [:]
        var chosen: [String: String] = [:]
        for path in try CorpusFiles.list(directory) {
            let ext = CorpusFiles.pathExtension(path)
            let fields = CorpusFiles.stem(path).split(separator: "_").map(String.init)
            guard let rank = preference[ext], fields.count == 4, fields[0].count == 4, fields[0].allSatisfy(\.isNumber),
                  fields[1].count == 3, fields[2].count == 3, fields[3].count == 2 else {
                if CorpusFiles.videoExtensions.union(CorpusFiles.audioExtensions).contains(ext) {
                    skipped["not CREMA-D naming (1001_DFA_ANG_XX)", default: []].append(path)
                }
                continue
            }
            guard map[fields[2]] != nil else {
                skipped["unknown emotion code", default: []].append(path)
                continue
            }
            let key = CorpusFiles.stem(path)
            if let existing = chosen[key] {
                let better = rank < preference[CorpusFiles.pathExtension(existing)]!
                skipped["another copy of a clip (video is used before WAV before MP3)", default: []].append(better ? existing : path)
                if better { chosen[key] = path }
            } else {
                chosen[key] = path
            }
        }
        var clips: [CorpusImport.Clip] = []
        for (stem, path) in chosen {
            let code = stem.split(separator: "_").map(String.init)[2]
            guard let label = map[code]! else {
                skipped["\(code): no MER 2023 label", default: []].append(path)
                continue
            }
            clips.append(.init(name: stem, path: path, label: label, sourceLabel: code, valence: nil))
        }
        guard !clips.isEmpty else {
            throw .noClips(directory: directory, corpus: .cremaD, expected: "VideoFlash/1001_DFA_ANG_XX.flv or AudioWAV/1001_DFA_ANG_XX.wav")
        }
        return CorpusImport(corpus: .cremaD, source: directory, clips: clips, skipped: skipped,
                            audioOnly: chosen.values.allSatisfy { CorpusFiles.audioExtensions.contains(CorpusFiles.pathExtension($0)) })
    }
}
