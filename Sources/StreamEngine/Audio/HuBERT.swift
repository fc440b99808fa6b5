import Foundation
import NeuralKit

/// A HuBERT (or wav2vec2) speech encoder loaded from a HuggingFace model directory: the
/// hidden states of chosen transformer layers for 16 kHz mono audio, per frame (50 a second)
/// or mean-pooled over an utterance, as the paper's "HL(18)…HL(20)" features.
public final class HuBERT: Sendable {
    public let configuration: HuBERTConfiguration
    public let preprocessing: HuBERTPreprocessing
    /// The directory the model was loaded from.
    public let directory: String
    let weights: HuBERTWeights
    let encoder: HuBERTEncoder

    /// Loads `directory/config.json`, the weights and, if present,
    /// `directory/preprocessor_config.json` (without it, `withoutPreprocessorFile` says). The weights
    /// are any of ``ModelWeights``' files (chinese-hubert-large is published as
    /// `pytorch_model.bin` only).
    ///
    /// - Parameters:
    ///   - highestLayer: the highest hidden state that will be asked for; layers above it are
    ///     checked by name but not loaded, saving their memory. Nil loads all.
    ///   - withoutPreprocessorFile: the preprocessing when the directory has no
    ///     `preprocessor_config.json`: by default none (a converted fairseq HuBERT does not
    ///     normalise); a model whose processor is known to normalise says so here.
    public convenience init(directory: String, highestLayer: Int? = nil,
                            withoutPreprocessorFile: HuBERTPreprocessing = HuBERTPreprocessing(normalize: false)) throws(HuBERTError) {
        try self.init(directory: directory, weights: nil, highestLayer: highestLayer, withoutPreprocessorFile: withoutPreprocessorFile)
    }

    /// As `init(directory:…)`, reading the weights from `file` when a caller has opened it
    /// already (a task model reads its head from the same file): a PyTorch checkpoint's pickle
    /// is then parsed once.
    init(directory: String, weights file: (any CheckpointFile)?, highestLayer: Int? = nil,
         withoutPreprocessorFile: HuBERTPreprocessing = HuBERTPreprocessing(normalize: false)) throws(HuBERTError) {
        self.directory = directory
        let configPath = directory + "/config.json"
        configuration = try Self.decode(HuBERTConfiguration.self, at: configPath)
        if let problem = configuration.unsupported().first {
            throw .unsupportedConfiguration(file: configPath, key: problem.key, found: problem.found, need: problem.need)
        }
        let preprocessorPath = directory + "/preprocessor_config.json"
        preprocessing = FileManager.default.fileExists(atPath: preprocessorPath)
            ? try Self.decode(HuBERTPreprocessing.self, at: preprocessorPath)
            : withoutPreprocessorFile
        if preprocessing.samplingRate != 16000 {
            throw .unsupportedConfiguration(file: preprocessorPath, key: "sampling_rate",
                                            found: "\(preprocessing.samplingRate)", need: "16000")
        }
        let layers = configuration.hiddenLayers
        if let highestLayer, !(0...layers).contains(highestLayer) {
            throw .layerOutOfRange(layer: highestLayer, layers: layers)
        }
        let opened: any CheckpointFile
        if let file { opened = file } else { opened = try Self.openWeights(in: directory) }
        var loader = HuBERTWeightLoader(file: opened, configuration: configuration)
        weights = try loader.load(layers: highestLayer ?? layers)
        // The loader's last transient copies (the positional convolution's weight before its
        // layout) are freed only as it returns: 32 MiB that glibc kept resident.
        HeapMemory.returnFreePages()
        encoder = HuBERTEncoder(weights: weights, configuration: configuration)
    }

    /// The weights of a model directory (``ModelWeights``), opened as their content says.
    static func openWeights(in directory: String) throws(HuBERTError) -> any CheckpointFile {
        let path = ModelWeights.path(in: directory)
        do {
            return try openCheckpoint(path: path)
        } catch .notFound {
            throw .missingFile(path: path)
        } catch {
            throw .weights(error)
        }
    }

    /// Hidden states exist for 0…`hiddenLayers`.
    public var hiddenLayers: Int { configuration.hiddenLayers }

    /// The highest hidden state this instance can compute (as loaded).
    public var highestLoadedLayer: Int { weights.layers.count }

    /// Which kernels run each kind of product for `frames` frames (benchmarks print it):
    /// the dense layers, the attention's per-head products, the front end's convolutions,
    /// the positional convolution.
    public func kernels(frames: Int) -> [(part: String, kernel: String)] {
        var parts: [(String, String)] = []
        if let layer = weights.layers.first {
            parts.append(("dense", layer.feedForwardIn.implementation(rows: frames)))
            parts.append(("attention", layer.attention.implementation(length: frames)))
        }
        if case .dense(let linear) = weights.frontEnd.last?.product {
            parts.append(("front end", linear.implementation(rows: frames * 2)))
        }
        let positional = (try? weights.positionalConvolution.implementation(length: frames)) ?? "unknown"
        parts.append(("positional conv", positional))
        return parts
    }

    /// The model input for `audio`: zero mean and unit variance over the utterance when the
    /// preprocessing asks for it (Wav2Vec2FeatureExtractor's `zero_mean_unit_var_norm`).
    public func inputValues(_ audio: [Float]) -> [Float] {
        guard preprocessing.normalize, !audio.isEmpty else { return audio }
        let statistics = InputStatistics(audio)
        return statistics.normalize(audio)
    }

    /// A front end that takes audio in chunks (already passed through `inputValues` or a
    /// running estimate of it). `minimumProductRows` > 1 trades when frames appear for the
    /// rate of the layers' products (``HuBERTFrontEndStream/minimumProductRows``).
    public func makeFrontEndStream(minimumProductRows: Int = 1) -> HuBERTFrontEndStream {
        HuBERTFrontEndStream(weights: weights, configuration: configuration, minimumProductRows: minimumProductRows)
    }

    /// The front end run over a whole utterance (normalised as the model wants), fed a quarter
    /// of a second at a time: that keeps every layer's buffers small and in cache (the first
    /// conv layer alone makes 512 values per 5 samples). Fed by the second, those buffers held
    /// about 45 MB at once, +30 MiB on a 10-s pass's peak RSS against the quarter; the quarter
    /// was no slower (front end of 10 s, F32, oneDNN, 2 threads: 283–323 ms against 312–337).
    public func frontEnd(audio: [Float]) -> HuBERTFrontEndStream {
        var stream = makeFrontEndStream(minimumProductRows: Self.utteranceProductRows)
        let input = inputValues(audio)
        let chunk = 4000
        input.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: all.count, by: chunk) {
                stream.push(UnsafeBufferPointer(rebasing: all[start..<min(start + chunk, all.count)]))
            }
        }
        stream.finish()
        return stream
    }

    /// The fewest frames each front-end layer computes at once over a whole utterance. Fed in
    /// quarter seconds as they come, the deeper layers ran 12–200-row products; the 10-s front
    /// end (EPYC Zen 4, 2 threads, oneDNN, median of 12 alternating runs in one process) took
    /// BF16 256–260 ms as they come, 226 at ≥ 256 rows, 216–219 at ≥ 512; F32 438, 404, 369.
    /// The larger products' buffers cost the 10-s BF16 pass 4–18 MiB of peak RSS at 256 rows
    /// and 24–41 at 512, so 256; `hiddenStates(audio:layers:)` then hands 17–25 MiB back.
    static let utteranceProductRows = 256

    /// Hidden states `layers` for the projected front-end frames [T, D] of one utterance.
    public func hiddenStates(frames: Tensor, layers: [Int]) throws(HuBERTError) -> [Int: Tensor] {
        try hiddenStates(frames: frames, layers: layers, abandonIf: { false })!
    }

    /// The same, for work that may turn out unneeded: `abandonIf` is asked before each layer,
    /// and nil is returned as soon as it says yes.
    public func hiddenStates(frames: Tensor, layers: [Int], abandonIf: () -> Bool) throws(HuBERTError) -> [Int: Tensor]? {
        for layer in layers where !(0...highestLoadedLayer).contains(layer) {
            throw .layerOutOfRange(layer: layer, layers: highestLoadedLayer)
        }
        return encoder.hiddenStates(frames: frames, layers: Set(layers), abandonIf: abandonIf)
    }

    /// Hidden states `layers` of one utterance of raw 16 kHz audio, each [T, D].
    public func hiddenStates(audio: [Float], layers: [Int]) throws(HuBERTError) -> [Int: Tensor] {
        let needed = configuration.receptiveField
        guard audio.count >= needed else { throw .audioTooShort(samples: audio.count, needed: needed) }
        // The stream goes once its frames are out: its buffers need not last through the layers.
        let frames = frontEnd(audio: audio).projectedFrames
        // Its freed buffers stay resident in glibc's heap, where the layers' large buffers
        // (mapped, `PassBuffer`) never reuse them: 17–25 MiB on the peak of a 10-s pass
        // (`merd bench hubert`, Zen 4, BF16 756–758 → 737–738 MiB, F32 1361 → 1336). Handing
        // them back took 2–4 ms after a 1-s front end and 6–7 ms after a 10-s one, under 2 % of
        // either pass.
        HeapMemory.returnFreePages()
        return try hiddenStates(frames: frames, layers: layers)
    }

    /// transformers' `last_hidden_state` of one utterance of raw 16 kHz audio, [T, D]: the last
    /// layer's output, through the encoder's final layer norm in the stable (large) family
    /// (`Wav2Vec2EncoderStableLayerNorm` applies it after the layers; the post-norm family
    /// applies it before them, so there it is hidden state L). What task models built on
    /// `Wav2Vec2Model` read (`outputs[0]`), unlike hidden state L of the stable family.
    public func lastHiddenState(audio: [Float]) throws(HuBERTError) -> Tensor {
        let layers = configuration.hiddenLayers
        guard highestLoadedLayer == layers else { throw .layerOutOfRange(layer: layers, layers: highestLoadedLayer) }
        let last = try hiddenStates(audio: audio, layers: [layers])[layers]!
        return configuration.stableLayerNorm ? weights.encoderNorm(last) : last
    }

    /// Mean over frames of each requested hidden state, each [D]: the utterance features.
    public func pooledHiddenStates(audio: [Float], layers: [Int]) throws(HuBERTError) -> [Int: Tensor] {
        try hiddenStates(audio: audio, layers: layers).mapValues(Self.meanOverFrames)
    }

    /// [T, D] → [D].
    public static func meanOverFrames(_ states: Tensor) -> Tensor {
        let (length, width) = (states.shape[0], states.shape[1])
        return states.withUnsafeBufferPointer { s in
            Tensor(shape: [width]) { out in
                out.initialize(repeating: 0)
                for t in 0..<length { for d in 0..<width { out[d] += s[t * width + d] } }
                let scale = 1 / Float(max(length, 1))
                for d in 0..<width { out[d] *= scale }
            }
        }
    }

    /// `path`'s JSON as `T`, each failure one `invalidConfiguration` naming the file.
    static func decode<T: Decodable>(_ type: T.Type, at path: String) throws(HuBERTError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missingFile(path: path) }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .invalidConfiguration(file: path, reason: "missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidConfiguration(file: path, reason: "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw .invalidConfiguration(file: path, reason: "not valid JSON")
        }
    }
}

/// Mean and variance of an utterance, for the input normalisation.
public struct InputStatistics: Sendable, Equatable {
    public var mean: Double
    public var variance: Double

    public init(mean: Double, variance: Double) {
        self.mean = mean
        self.variance = variance
    }

    public init(_ audio: [Float]) {
        var sum = 0.0
        for x in audio { sum += Double(x) }
        let mean = sum / Double(max(audio.count, 1))
        var squares = 0.0
        for x in audio { squares += (Double(x) - mean) * (Double(x) - mean) }
        self.init(mean: mean, variance: squares / Double(max(audio.count, 1)))
    }

    /// (x − μ) / √(σ² + 1e-7), as transformers computes it.
    public func normalize(_ audio: [Float]) -> [Float] {
        let scale = 1 / (variance + 1e-7).squareRoot()
        return audio.map { Float((Double($0) - mean) * scale) }
    }
}
