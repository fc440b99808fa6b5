/// Arousal, dominance and valence of one utterance, as a dimensional speech emotion model
/// estimates them, on the model's own scale.
///
/// For audEERING's MSP-Podcast model (`w2v2-msp-dim`) that scale is "approximately 0…1" (its
/// model card and audEERING's w2v2-how-to notebook). It stands for MSP-Podcast's ratings,
/// which score each dimension on a 7-point scale, so 0.5 is the scale's midpoint; the head is
/// a plain linear layer, so values a little outside 0…1 occur. The card's own examples sit
/// near the middle: 0.55, 0.61, 0.40 (arousal, dominance, valence) for a second of silence,
/// 0.66, 0.63, 0.48 for a second of white noise.
public struct SpeechAffect: Sendable, Equatable {
    /// Calm (0) … excited (1).
    public var arousal: Float
    /// Submissive (0) … dominant (1).
    public var dominance: Float
    /// Negative (0) … positive (1).
    public var valence: Float

    public init(arousal: Float, dominance: Float, valence: Float) {
        self.arousal = arousal
        self.dominance = dominance
        self.valence = valence
    }

    /// Valence on merd's [-5, 5] scale (`Hello.valenceRange`), by ``merdScale(_:)``.
    public var valenceOnMerdScale: Float { Self.merdScale(valence) }

    /// Arousal on the same [-5, 5] scale.
    public var arousalOnMerdScale: Float { Self.merdScale(arousal) }

    /// A value of the model's 0…1 scale on merd's [-5, 5]: (x − 0.5) × 10, clamped, so the
    /// scale's midpoint is merd's 0 and its ends are ±5. A linear map keeps the model's
    /// differences as they are; the clamp takes in the head's small excursions past 0 and 1.
    /// NaN stays NaN (the event then carries no valence).
    public static func merdScale(_ value: Float) -> Float {
        let scaled = (value - 0.5) * 10
        guard !scaled.isNaN else { return scaled }
        return Swift.min(Swift.max(scaled, -5), 5)
    }
}
