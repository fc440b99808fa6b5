/// The engine's fusion stage: emotion and valence from an utterance's features.
/// `FusionEnsemble` (the paper's trained ensemble) is the real one.
public protocol FusionDecoding: Sendable {
    /// Output order of the probabilities.
    var labels: [String] { get }
    /// The inputs it reads, by name and size.
    var inputs: [FusionInput] { get }
    /// Whether it was trained to decode with one modality zeroed (a face out of view).
    var decodesWithMissingModality: Bool { get }
    /// Whether its valence was trained (a corpus without valence labels leaves it untrained).
    var valenceTrained: Bool { get }
    /// Probabilities [rows][labels] and valence [rows] for `features` (name → rows × size).
    func predict(_ features: [String: [Float]], rows: Int) -> (probabilities: [[Float]], valence: [Float])
}

extension FusionEnsemble: FusionDecoding {}
