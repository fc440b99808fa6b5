import NeuralKit

/// One utterance's HuBERT features, computed while it is spoken: the audio side pushes its
/// samples as soon as they are surely inside the utterance, the compute queue runs the
/// front end (and any complete transformer window) on them, and the end only adds the tail.
///
/// When a pause begins, the audio side may ask for the features as they would be if the
/// utterance ended there (`speculate`): the segmenter declares the end only a hangover later,
/// and if the utterance then ends where the pause began, `finish` hands over the speculated
/// result instead of starting the last window only then.
///
/// - Important: touched only on the engine's compute queue (`UtteranceEncoding`'s contract;
///   that is what makes the unchecked Sendable sound); the audio side only submits closures
///   that use it.
final class UtteranceJob: UtteranceEncoding, @unchecked Sendable {
    private var encoder: HuBERTUtteranceEncoder?
    private var failure: HuBERTError?
    private var pushed = 0
    /// Features as if the utterance had ended after `samples` samples in all.
    private var speculation: (samples: Int, features: [Int: Tensor]?)?
    /// Whether `finish` handed over a speculated result.
    private(set) var usedSpeculation = false

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

    /// Computes, on a copy of the encoder, the features the utterance would have if `rest`
    /// were its last samples. `stillWanted` is asked before the work, before the front end's
    /// pass over held-back samples and between transformer layers of every window the copy
    /// runs (the periodic ones `rest` completes too, not only the last): once speech has
    /// resumed, the work is dropped (false).
    func speculate(_ rest: [Float], stillWanted: () -> Bool) -> Bool {
        guard failure == nil, var copy = encoder, stillWanted() else { return false }
        var features: [Int: Tensor]?
        do {
            guard try copy.push(rest, abandonIf: { !stillWanted() }) else { return false }
            guard let finished = try copy.finish(abandonIf: { !stillWanted() }) else { return false }
            features = finished
        } catch {
            features = nil  // the real end would fail the same way on the same samples
        }
        speculation = (pushed + rest.count, features)
        return true
    }

    /// Pooled states per layer after the last samples `rest`; nil without a model or when
    /// the utterance is too short.
    func finish(rest: [Float]) -> [Int: Tensor]? {
        defer { encoder = nil }
        if let speculation, speculation.samples == pushed + rest.count, failure == nil, encoder != nil {
            // The same stream and the same count: the speculated utterance is this one,
            // sample for sample.
            usedSpeculation = true
            return speculation.features
        }
        push(rest)
        guard var encoder, failure == nil else { return nil }
        return try? encoder.finish()
    }
}
