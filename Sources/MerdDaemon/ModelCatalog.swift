/// The checkpoints `merd models fetch` knows, by the names users type.
package struct CatalogEntry {
    package let name: String
    /// HuggingFace repository.
    package let repository: String
    package let kind: String
    package let license: String
    package let summary: String
    /// Files merd needs; every one must be on the hub.
    package let requiredFiles: [String]
    /// Files merd uses when present.
    package let optionalFiles: [String]
}

package enum ModelCatalog {
    package static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "hubert-large", repository: "facebook/hubert-large-ll60k", kind: "hubert", license: "apache-2.0",
            summary: "HuBERT-large pretrained on Libri-Light 60k h (English); the paper's audio encoder outside Mandarin",
            requiredFiles: ["config.json", "model.safetensors"], optionalFiles: ["preprocessor_config.json"]),
        CatalogEntry(
            name: "chinese-hubert-large", repository: "TencentGameMate/chinese-hubert-large", kind: "hubert", license: "mit",
            summary: "HuBERT-large pretrained on WenetSpeech 10k h (Mandarin), as used for MER 2023",
            requiredFiles: ["config.json", "model.safetensors"], optionalFiles: ["preprocessor_config.json"]),
    ]

    package static func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }
}
