import NeuralKit

/// One utterance's HuBERT features, computed while it is spoken: the audio side pushes its
/// samples as soon as they are surely inside the utterance, the compute queue runs the
/// front end (and any complete transformer window) on them, and the end only adds the tail.
///
/// - Important: touched only on the engine's compute queue (that is what makes the unchecked
///   Sendable sound); the audio side only submits closures that use it.
final class UtteranceJob: @unchecked Sendable {
    private var encoder: HuBERTUtteranceEncoder?
    private var failure: HuBERTError?
    private var pushed = 0

    init(model: HuBERT?, layers: [Int], windowing: HuBERTWindowing) {
        guard let model else { return }
        do {
            encoder = try HuBERTUtteranceEncoder(model: model, layers: layers, windowing: windowing)
        } catch {
            failure = error
        }
    }

    func push(_ samples: [Float]) {
        guard failure == nil, !samples.isEmpty else { return }
        pushed += samples.count
        do { try encoder?.push(samples) } catch { failure = error }
    }

    /// Pooled states per layer; nil without a model or when the utterance is too short.
    func finish() -> [Int: Tensor]? {
        guard var encoder, failure == nil else { return nil }
        defer { self.encoder = nil }
        return try? encoder.finish()
    }
}
