/// The checkpoints `merd models fetch` knows, by the names users type.
public struct CatalogEntry: Sendable {
    public let name: String
    /// HuggingFace repository.
    public let repository: String
    /// What merd loads it as: `hubert` (a speech encoder), `speech-emotion` (arousal,
    /// dominance and valence of an utterance).
    public let kind: String
    /// The licence's identifier as the hub lists it (`apache-2.0`, `cc-by-nc-sa-4.0`).
    public let license: String
    public let summary: String
    /// Files merd needs; every one must be on the hub.
    public let requiredFiles: [String]
    /// Files merd uses when present.
    public let optionalFiles: [String]
}

public enum ModelCatalog {
    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "hubert-large", repository: "facebook/hubert-large-ll60k", kind: "hubert", license: "apache-2.0",
            summary: "HuBERT-large pretrained on Libri-Light 60k h (English); the paper's audio encoder outside Mandarin",
            requiredFiles: ["config.json", "model.safetensors"], optionalFiles: ["preprocessor_config.json"]),
        CatalogEntry(
            name: "chinese-hubert-large", repository: "TencentGameMate/chinese-hubert-large", kind: "hubert", license: "mit",
            summary: "HuBERT-large pretrained on WenetSpeech 10k h (Mandarin), as used for MER 2023",
            requiredFiles: ["config.json", "model.safetensors"], optionalFiles: ["preprocessor_config.json"]),
        CatalogEntry(
            name: "w2v2-msp-dim", repository: "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim", kind: "speech-emotion",
            license: "cc-by-nc-sa-4.0",
            summary: "audEERING's wav2vec2-large-robust (pruned to 12 layers) fine-tuned on MSP-Podcast 1.7: arousal, dominance and valence of an utterance, about 0…1",
            // The processor normalises each utterance (do_normalize); the LICENSE file goes with the weights.
            requiredFiles: ["config.json", "model.safetensors", "preprocessor_config.json"], optionalFiles: ["LICENSE"]),
    ]

    public static func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }
}

extension CatalogEntry {
    /// Whether the licence forbids commercial use: the Creative Commons NonCommercial family
    /// (`cc-by-nc-4.0`, `cc-by-nc-sa-4.0`, `cc-by-nc-nd-4.0`, …).
    public var isNonCommercial: Bool {
        license.lowercased().split(separator: "-").contains("nc")
    }

    /// What `merd models fetch` says about the licence before it downloads: the licence, and
    /// for a non-commercial one, plainly what that means.
    public var licenseNotice: String {
        var notice = "\(name) is licensed \(license) (see https://huggingface.co/\(repository))"
        if isNonCommercial {
            notice += ". This is a NON-COMMERCIAL licence: use the model for research or other non-commercial purposes only;"
                + " any commercial use needs a separate licence from its authors."
        }
        return notice
    }
}
