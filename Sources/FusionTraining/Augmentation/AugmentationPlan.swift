/// What `--augment` asks for: `audio-snr=LO:HI` (speech noise at a whole-dB SNR drawn from
/// LO…HI) and/or `image=NAME,NAME,…` (one of the listed corruptions per copy, applied to every
/// frame of it), e.g. `audio-snr=5:11,image=solarize,blur,rotate,cutout`, the paper's recipe.
public struct AugmentationPlan: Sendable, Equatable {
    public var snrRange: ClosedRange<Int>?
    public var imageCorruptions: [String]

    public init(snrRange: ClosedRange<Int>?, imageCorruptions: [String]) {
        self.snrRange = snrRange
        self.imageCorruptions = imageCorruptions
    }

    /// Parses the option's text, naming the part at fault.
    public init(parsing text: String) throws(AugmentationError) {
        var snr: ClosedRange<Int>?
        var images: [String] = []
        var inImages = false
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if part.hasPrefix("audio-snr=") {
                inImages = false
                let bounds = part.dropFirst("audio-snr=".count).split(separator: ":").map { Int($0) }
                guard bounds.count == 2, let low = bounds[0], let high = bounds[1], low <= high, low >= -20, high <= 60 else {
                    throw .invalid(part: part, expected: "audio-snr=LO:HI with whole dB, LO ≤ HI (e.g. audio-snr=5:11)")
                }
                snr = low...high
            } else if part.hasPrefix("image=") {
                inImages = true
                images.append(String(part.dropFirst("image=".count)))
            } else if inImages {
                images.append(part)
            } else {
                throw .invalid(part: part, expected: "audio-snr=LO:HI or image=\(ImageCorruption.names.joined(separator: ","))")
            }
        }
        for name in images where !ImageCorruption.names.contains(name) {
            throw .invalid(part: name, expected: "an image corruption among \(ImageCorruption.names.joined(separator: ", "))")
        }
        guard snr != nil || !images.isEmpty else { throw .invalid(part: text, expected: "audio-snr=LO:HI and/or image=NAME,…") }
        self.init(snrRange: snr, imageCorruptions: images)
    }

    /// The corruption of one copy: its SNR (if audio noise is asked for) and image corruption.
    public func draw(using random: inout some RandomNumberGenerator) -> (snr: Double?, image: ImageCorruption?) {
        let snr = snrRange.map { Double(Int.random(in: $0, using: &random)) }
        let image = imageCorruptions.randomElement(using: &random).flatMap { ImageCorruption.random($0, using: &random) }
        return (snr, image)
    }
}

public enum AugmentationError: Error, Equatable, CustomStringConvertible {
    case invalid(part: String, expected: String)

    public var description: String {
        switch self {
        case .invalid(let part, let expected): return "--augment: '\(part)' is not valid; expected \(expected)"
        }
    }
}
