/// The checkpoints `merd models fetch` knows, by the names users type.
public struct CatalogEntry: Sendable {
    public let name: String
    /// HuggingFace repository.
    public let repository: String
    public let kind: String
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
    ]

    public static func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }
}
