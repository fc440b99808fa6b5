/// Berlin EmoDB (Burkhardt et al. 2005): `wav/03a01Fa.wav`, speaker (2 digits), text (3
/// characters), emotion letter (W anger, L boredom, E disgust, A fear, F happiness, T sadness,
/// N neutral), version letter. Audio only.
enum EmoDBCorpus {
    static let emotions: [Character: String] = ["W": "W (anger)", "L": "L (boredom)", "E": "E (disgust)", "A": "A (fear)",
                                                "F": "F (happiness)", "T": "T (sadness)", "N": "N (neutral)"]

    static func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        let map = CorpusKind.emodb.labelMap
        var skipped: [String: [String]] = [:]
        var clips: [CorpusImport.Clip] = []
        for path in try CorpusFiles.list(directory) where CorpusFiles.pathExtension(path) == "wav" {
            let stem = Array(CorpusFiles.stem(path))
            guard stem.count == 7, stem[0...1].allSatisfy(\.isNumber), stem[2].isLetter, stem[3...4].allSatisfy(\.isNumber),
                  let emotion = emotions[stem[5]], stem[6].isLetter else {
                skipped["not EmoDB naming (03a01Fa.wav)", default: []].append(path)
                continue
            }
            guard let label = map[emotion]! else {
                skipped["\(emotion): no MER 2023 label", default: []].append(path)
                continue
            }
            clips.append(.init(name: String(stem), path: path, label: label, sourceLabel: emotion, valence: nil))
        }
        guard !clips.isEmpty else { throw .noClips(directory: directory, corpus: .emodb, expected: "wav/03a01Fa.wav") }
        return CorpusImport(corpus: .emodb, source: directory, clips: clips, skipped: skipped, audioOnly: true)
    }
}
