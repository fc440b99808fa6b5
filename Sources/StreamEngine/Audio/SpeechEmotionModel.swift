import Foundation
import NeuralKit

/// A dimensional speech emotion model: arousal, dominance and valence of one utterance of
/// 16 kHz speech. audEERING's `wav2vec2-large-robust-12-ft-emotion-msp-dim` (CC BY-NC-SA 4.0,
/// `merd models fetch w2v2-msp-dim`) and models of its form: a wav2vec2 (or HuBERT) encoder
/// whose last hidden state is averaged over time and fed to a ``RegressionHead``, as the model
/// card's `EmotionModel` computes it.
///
/// The transformer sees the whole utterance at once, as the model was trained (no windows):
/// ``estimate(_:)`` runs once per utterance, on the audio from its start to the end of speech.
/// Its cost grows with the length, linearly in the dense layers and quadratically in attention
/// (the `merd bench speech-emotion` lines give the time per second of audio).
public final class SpeechEmotionModel: Sendable {
    /// The encoder, loaded with every layer (the head reads the last).
    public let encoder: HuBERT
    public let configuration: SpeechEmotionConfiguration
    /// Where arousal, dominance and valence are among the head's outputs (`id2label`).
    public let outputOrder: SpeechEmotionConfiguration.OutputOrder
    let head: RegressionHead

    /// Wav2Vec2FeatureExtractor's default, which the published processor keeps: each utterance
    /// normalised to zero mean and unit variance. Used when the directory has no
    /// `preprocessor_config.json`.
    public static let defaultPreprocessing = HuBERTPreprocessing(normalize: true)

    /// Loads `directory/config.json`, the weights (``ModelWeights``) and, if present,
    /// `directory/preprocessor_config.json` (without it, ``defaultPreprocessing``). The head
    /// is read and the file's tensors accounted for before the encoder, so a file that is not
    /// such a model fails before the slow part.
    public init(directory: String) throws(SpeechEmotionError) {
        let configPath = directory + "/config.json"
        do {
            configuration = try HuBERT.decode(SpeechEmotionConfiguration.self, at: configPath)
        } catch {
            throw SpeechEmotionError(error)
        }
        if let problem = configuration.unsupported().first {
            throw .unsupportedConfiguration(file: configPath, key: problem.key, found: problem.found, need: problem.need)
        }
        outputOrder = configuration.outputOrder!
        let file: any CheckpointFile
        do { file = try HuBERT.openWeights(in: directory) } catch { throw SpeechEmotionError(error) }
        var loader = RegressionHeadLoader(file: file, configuration: configuration)
        head = try loader.load()
        do {
            // The same open file: a PyTorch checkpoint's pickle is parsed once.
            encoder = try HuBERT(directory: directory, weights: file, withoutPreprocessorFile: Self.defaultPreprocessing)
        } catch {
            throw SpeechEmotionError(error)
        }
    }

    /// The directory the model was loaded from.
    public var directory: String { encoder.directory }

    /// The fewest samples an utterance needs (one frame: 400 at 16 kHz, 25 ms).
    public var minimumSamples: Int { encoder.configuration.receptiveField }

    /// Arousal, dominance and valence of one utterance: `samples16k` is its 16 kHz mono audio
    /// as captured (not normalised; the model's own preprocessing is applied here), from its
    /// start to the end of speech.
    public func estimate(_ samples16k: [Float]) throws(SpeechEmotionError) -> SpeechAffect {
        affect(pooled: try pooledState(samples16k))
    }

    /// The mean over frames of the last hidden state, [D]: what the head reads (the card's
    /// "embeddings"), after the same preprocessing as ``estimate(_:)``.
    public func pooledState(_ samples16k: [Float]) throws(SpeechEmotionError) -> Tensor {
        do {
            return HuBERT.meanOverFrames(try encoder.lastHiddenState(audio: samples16k))
        } catch {
            throw SpeechEmotionError(error)
        }
    }

    /// The head's outputs for a pooled state, in the checkpoint's order ([labels]).
    public func outputs(pooled: Tensor) -> Tensor {
        precondition(pooled.shape == [configuration.hiddenSize], "pooled state must be [\(configuration.hiddenSize)], got \(pooled.shape)")
        return head(pooled)
    }

    /// The head's outputs for a pooled state, by name.
    public func affect(pooled: Tensor) -> SpeechAffect {
        let values = outputs(pooled: pooled).scalars
        return SpeechAffect(arousal: values[outputOrder.arousal], dominance: values[outputOrder.dominance],
                            valence: values[outputOrder.valence])
    }
}
