import MerdEvents

/// How an utterance's valence and arousal are made when no trained fusion model decides: from
/// the speech-emotion model and the face model's mean over the utterance's frames, each on the
/// [-5, 5] scale, in fixed proportions (docs/events.md, "Where each field comes from").
///
/// The proportions follow what each modality is known to carry: the voice carries arousal
/// better than valence (audEERING's model reaches a concordance of .74 on arousal and .64 on
/// valence on MSP-Podcast), the face carries valence better than arousal (AffectNet's
/// valence is the more reliable of its two annotations). With one modality, its value alone.
public enum AffectCombination {
    /// The voice's share of valence when both modalities give one.
    public static let speechShareOfValence: Float = 0.5
    /// The voice's share of arousal when both modalities give one.
    public static let speechShareOfArousal: Float = 0.7

    /// The combined value and which source gave it, or (nil, nil) when neither did.
    public static func combine(speech: Float?, speechModel: String?, face: Float?, faceModel: String?,
                               speechShare: Float) -> (value: Float?, source: String?) {
        switch (speech, face) {
        case let (speech?, face?):
            return (clamp(speechShare * speech + (1 - speechShare) * face), EventSource.speechAndFace)
        case let (speech?, nil):
            return (clamp(speech), speechModel.map(EventSource.speech))
        case let (nil, face?):
            return (clamp(face), faceModel.map(EventSource.face))
        case (nil, nil):
            return (nil, nil)
        }
    }

    static func clamp(_ value: Float) -> Float { max(-5, min(5, value)) }
}
