import StreamEngine

/// The checkpoints `merd models fetch` knows, by the names users type.
public struct CatalogEntry: Sendable {
    public let name: String
    /// `owner/name` on the host (a HuggingFace or GitHub repository).
    public let repository: String
    public let host: CatalogHost
    /// What merd loads it as: `hubert` (a speech encoder), `speech-emotion` (arousal,
    /// dominance and valence of an utterance), `face-encoder` (a face model of
    /// `KnownFaceEncoder.all`, installed in the folder of the same name).
    public let kind: String
    /// The licence's identifier as the hub lists it (`apache-2.0`, `cc-by-nc-sa-4.0`).
    public let license: String
    public let summary: String
    /// Files merd needs besides the weights; every one must be published.
    public let requiredFiles: [String]
    /// Files merd uses when present.
    public let optionalFiles: [String]

    public init(name: String, repository: String, host: CatalogHost = .huggingFace(weights: CatalogEntry.huggingFaceWeights),
                kind: String, license: String, summary: String, requiredFiles: [String] = [], optionalFiles: [String] = []) {
        self.name = name
        self.repository = repository
        self.host = host
        self.kind = kind
        self.license = license
        self.summary = summary
        self.requiredFiles = requiredFiles
        self.optionalFiles = optionalFiles
    }

    /// The weight files a transformers repository may publish, in the order merd prefers them
    /// (merd reads both: safetensors maps straight in; the PyTorch zip through the
    /// restricted unpickler).
    public static let huggingFaceWeights = ["model.safetensors", "pytorch_model.bin"]
}

/// Where a catalogue entry's files come from, and what pins them.
public enum CatalogHost: Sendable {
    /// A HuggingFace hub repository at the commit its listing gives; the first of `weights`
    /// the repository has is downloaded. LFS files are checked against the sha256 the listing
    /// gives for them.
    case huggingFace(weights: [String])
    /// Files of a GitHub repository at a pinned commit (`raw.githubusercontent.com`), each
    /// checked against its git blob id at that commit; merd writes the `config.json` the
    /// repository does not publish.
    case gitHub(commit: String, files: [PinnedFile], configuration: TimmConfiguration)

    /// The address users can read about the model at.
    func page(of repository: String) -> String {
        switch self {
        case .huggingFace: return "https://huggingface.co/\(repository)"
        case .gitHub(let commit, _, _): return "https://github.com/\(repository)/tree/\(commit)"
        }
    }
}

/// One file of a GitHub repository at a commit.
public struct PinnedFile: Sendable {
    /// The path in the repository.
    public let path: String
    /// `git ls-tree` of the commit: the SHA-1 of `"blob <size>\0"` and the content.
    public let gitBlobID: String
    /// The name in the installed folder.
    public let installedAs: String

    public init(path: String, gitBlobID: String, installedAs: String) {
        self.path = path
        self.gitBlobID = gitBlobID
        self.installedAs = installedAs
    }
}

public enum ModelCatalog {
    /// EmotiEffLib's repository and the commit its face models are pinned at ("Update full
    /// links in the repo"; the models are unchanged since they were added in 9f62dbb).
    static let emotiEffLib = "sb-ai-lab/EmotiEffLib"
    static let emotiEffLibCommit = "f1df0e8548c666d268826e50b7de107fd5553e9d"

    /// The `config.json` EmotiEffLib's models would have: `facial_analysis.py` resizes the
    /// detector's box to `img_size` (224 for B0, 260 for B2) bilinearly and normalises with
    /// ImageNet's mean and deviation; both models were fine-tuned from timm's `tf_efficientnet_*_ns`
    /// (TensorFlow padding); `enet_b0_8_va_mtl`'s last two outputs are valence and arousal.
    static func emotiEffLibConfiguration(architecture: String, size: Int, labels: [String]) -> TimmConfiguration {
        TimmConfiguration(
            architecture: architecture, classCount: labels.count, labelNames: labels,
            preprocessing: .init(inputSize: [3, size, size], mean: [0.485, 0.456, 0.406], standardDeviation: [0.229, 0.224, 0.225],
                                 interpolation: "bilinear", cropFraction: 1))
    }

    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "hubert-large", repository: "facebook/hubert-large-ll60k", kind: "hubert", license: "apache-2.0",
            summary: "HuBERT-large pretrained on Libri-Light 60k h (English); the paper's audio encoder outside Mandarin",
            requiredFiles: ["config.json"], optionalFiles: ["preprocessor_config.json"]),
        CatalogEntry(
            name: "chinese-hubert-large", repository: "TencentGameMate/chinese-hubert-large", kind: "hubert", license: "mit",
            summary: "HuBERT-large pretrained on WenetSpeech 10k h (Mandarin), as used for MER 2023 (published as pytorch_model.bin)",
            requiredFiles: ["config.json"], optionalFiles: ["preprocessor_config.json"]),
        CatalogEntry(
            name: "w2v2-msp-dim", repository: "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim", kind: "speech-emotion",
            license: "cc-by-nc-sa-4.0",
            summary: "audEERING's wav2vec2-large-robust (pruned to 12 layers) fine-tuned on MSP-Podcast 1.7: arousal, dominance and valence of an utterance, about 0…1",
            // The processor normalises each utterance (do_normalize); the LICENSE file goes with the weights.
            requiredFiles: ["config.json", "preprocessor_config.json"], optionalFiles: ["LICENSE"]),
        CatalogEntry(
            name: "emotiefflib-enet-b0-va", repository: emotiEffLib,
            host: .gitHub(
                commit: emotiEffLibCommit,
                files: [PinnedFile(path: "models/affectnet_emotions/enet_b0_8_va_mtl.pt",
                                   gitBlobID: "b7223bd1ab092a1b5a42bc04a5f4fbfe4d9f8b9b", installedAs: "model.pt")],
                configuration: emotiEffLibConfiguration(architecture: "tf_efficientnet_b0", size: 224,
                                                        labels: EmotiEffLibEncoder.affectNetLabels + ["valence", "arousal"])),
            kind: "face-encoder", license: "apache-2.0",
            summary: "EmotiEffLib's enet_b0_8_va_mtl (EfficientNet-B0 on AffectNet): eight expressions, valence and arousal of a face; merd's default face model (EN)"),
        CatalogEntry(
            name: "emotiefflib-enet-b2", repository: emotiEffLib,
            host: .gitHub(
                commit: emotiEffLibCommit,
                files: [PinnedFile(path: "models/affectnet_emotions/enet_b2_8.pt",
                                   gitBlobID: "eed81e6368877e89f8a99cfabadae7c3ddc3a949", installedAs: "model.pt")],
                configuration: emotiEffLibConfiguration(architecture: "tf_efficientnet_b2", size: 260, labels: EmotiEffLibEncoder.affectNetLabels)),
            kind: "face-encoder", license: "apache-2.0",
            summary: "EmotiEffLib's enet_b2_8 (EfficientNet-B2 on AffectNet): eight expressions, more accurate than B0 at 1.0 GFLOP a face against 0.39 (EN2)"),
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
        var notice = "\(name) is licensed \(license) (see \(host.page(of: repository)))"
        if isNonCommercial {
            notice += ". This is a NON-COMMERCIAL licence: use the model for research or other non-commercial purposes only;"
                + " any commercial use needs a separate licence from its authors."
        }
        return notice
    }
}
