/// The name of a fusion input, as feature files and model manifests spell it: `HL18` is
/// HuBERT's hidden state 18 mean-pooled over an utterance, anything else (`MX`, `RF`, `MR`, …)
/// a face encoder's embedding averaged over the frames. Parsed once where a name comes in
/// (a tensor name, a manifest, a flag), so no caller tells the modalities apart by prefix.
public enum FeatureName: Hashable, Sendable, LosslessStringConvertible {
    /// `HL<k>`: the speech encoder's hidden state k (0 is the transformer's input).
    case speechLayer(Int)
    /// A face encoder's embedding, by the encoder's feature name.
    /// - Important: not starting with `HL`, or it would read back as a speech layer.
    case visual(String)

    /// Which sensor a feature comes from: the structures that fuse per modality, and decoding
    /// with one missing, group inputs by it.
    public enum Modality: Sendable {
        case speech, visual
    }

    static let speechPrefix = "HL"

    /// Parses `HL<k>` (k in decimal without sign or leading zeros, so that the name reads back
    /// the same) or a visual name. Nil for an empty name, or one that starts like a speech
    /// layer but is not one (`HL`, `HLx`, `HL018`).
    public init?(_ description: String) {
        guard !description.isEmpty else { return nil }
        guard description.hasPrefix(Self.speechPrefix) else {
            self = .visual(description)
            return
        }
        let digits = description.dropFirst(Self.speechPrefix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), digits == "0" || !digits.hasPrefix("0"),
              let layer = Int(digits) else { return nil }
        self = .speechLayer(layer)
    }

    public var description: String {
        switch self {
        case .speechLayer(let layer): return "\(Self.speechPrefix)\(layer)"
        case .visual(let name): return name
        }
    }

    public var modality: Modality {
        switch self {
        case .speechLayer: return .speech
        case .visual: return .visual
        }
    }

    /// The hidden-state index of a speech feature; nil for a visual one.
    public var speechLayer: Int? {
        if case .speechLayer(let layer) = self { return layer }
        return nil
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
