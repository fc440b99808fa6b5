import StreamEngine

/// The corpora `merd dataset import` reads, each in its published layout (docs/datasets.md).
package enum CorpusKind: String, CaseIterable, Sendable, Codable {
    case ravdess
    case cremaD = "crema-d"
    case mer2023
    case emodb
    case meld

    package var displayName: String {
        switch self {
        case .ravdess: return "RAVDESS"
        case .cremaD: return "CREMA-D"
        case .mer2023: return "MER 2023"
        case .emodb: return "EmoDB"
        case .meld: return "MELD"
        }
    }

    /// Each of the corpus's own labels and the MER 2023 label it becomes; nil: the clip is
    /// skipped (MER has no such emotion; nothing is forced onto a neighbour).
    package var labelMap: [String: String?] {
        switch self {
        case .ravdess:
            return ["neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                    "fearful": "worried", "disgust": nil, "surprised": "surprise"]
        case .cremaD:
            return ["ANG": "angry", "DIS": nil, "FEA": "worried", "HAP": "happy", "NEU": "neutral", "SAD": "sad"]
        case .mer2023:
            return Dictionary(uniqueKeysWithValues: FusionArchitecture.merLabels.map { ($0, Optional($0)) })
        case .emodb:
            return ["W (anger)": "angry", "L (boredom)": nil, "E (disgust)": nil, "A (fear)": "worried",
                    "F (happiness)": "happy", "T (sadness)": "sad", "N (neutral)": "neutral"]
        case .meld:
            return ["neutral": "neutral", "joy": "happy", "sadness": "sad", "anger": "angry", "surprise": "surprise",
                    "fear": "worried", "disgust": nil]
        }
    }

    /// Whether the corpus has valence labels on MER's [-5, 5] scale; the others leave it empty.
    package var hasValence: Bool { self == .mer2023 }

    /// Reads the corpus at `directory`.
    package func scan(_ directory: String) throws(CorpusError) -> CorpusImport {
        switch self {
        case .ravdess: return try RAVDESSCorpus.scan(directory)
        case .cremaD: return try CREMADCorpus.scan(directory)
        case .mer2023: return try MER2023Corpus.scan(directory)
        case .emodb: return try EmoDBCorpus.scan(directory)
        case .meld: return try MELDCorpus.scan(directory)
        }
    }
}
