import Foundation

/// The architecture of a HuBERT or wav2vec2 model, read from the checkpoint's own
/// `config.json` (HuggingFace `HubertConfig` / `Wav2Vec2Config` keys).
public struct HuBERTConfiguration: Codable, Sendable, Equatable {
    /// `hubert` or `wav2vec2`.
    public var modelType: String
    public var hiddenSize: Int
    public var hiddenLayers: Int
    public var attentionHeads: Int
    public var intermediateSize: Int
    public var hiddenActivation: String
    /// `group` (base family: group norm in conv layer 0 only) or `layer` (large family: layer
    /// norm over channels after every conv layer).
    public var featureExtractorNorm: String
    public var featureExtractorActivation: String
    public var convolutionChannels: [Int]
    public var convolutionKernels: [Int]
    public var convolutionStrides: [Int]
    public var convolutionBias: Bool
    public var positionalKernel: Int
    public var positionalGroups: Int
    /// Pre-layer-norm transformer (large family) instead of post-layer-norm (base family).
    public var stableLayerNorm: Bool
    public var layerNormEpsilon: Float
    /// HuBERT's optional layer norm before the feature projection (always on in wav2vec2).
    public var featureProjectionLayerNorm: Bool?
    /// A batch norm instead of weight norm in the positional convolution (rare).
    public var positionalBatchNorm: Bool?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case hiddenLayers = "num_hidden_layers"
        case attentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case featureExtractorNorm = "feat_extract_norm"
        case featureExtractorActivation = "feat_extract_activation"
        case convolutionChannels = "conv_dim"
        case convolutionKernels = "conv_kernel"
        case convolutionStrides = "conv_stride"
        case convolutionBias = "conv_bias"
        case positionalKernel = "num_conv_pos_embeddings"
        case positionalGroups = "num_conv_pos_embedding_groups"
        case stableLayerNorm = "do_stable_layer_norm"
        case layerNormEpsilon = "layer_norm_eps"
        case featureProjectionLayerNorm = "feat_proj_layer_norm"
        case positionalBatchNorm = "conv_pos_batch_norm"
    }

    /// Whether the feature projection starts with a layer norm.
    public var hasProjectionLayerNorm: Bool {
        modelType == "wav2vec2" ? true : (featureProjectionLayerNorm ?? true)
    }

    /// Whether the conv front end normalises per frame (so it can stream exactly).
    public var isLayerNormFrontEnd: Bool { featureExtractorNorm == "layer" }

    /// Audio samples per output frame (320 for every released model: 50 frames a second).
    public var samplesPerFrame: Int { convolutionStrides.reduce(1, *) }

    /// Samples the first frame needs (400 for every released model).
    public var receptiveField: Int {
        var field = 1
        for (kernel, stride) in zip(convolutionKernels, convolutionStrides).reversed() {
            field = (field - 1) * stride + kernel
        }
        return field
    }

    /// Frames the front end produces from `samples` samples of audio.
    public func frameCount(samples: Int) -> Int {
        var length = samples
        for (kernel, stride) in zip(convolutionKernels, convolutionStrides) {
            length = length >= kernel ? (length - kernel) / stride + 1 : 0
        }
        return length
    }

    /// Every value merd cannot run, as (key, what it is, what would be needed); empty if it can.
    func unsupported() -> [(key: String, found: String, need: String)] {
        var problems: [(String, String, String)] = []
        if !["hubert", "wav2vec2"].contains(modelType) {
            problems.append(("model_type", modelType, "hubert or wav2vec2"))
        }
        if hiddenActivation != "gelu" { problems.append(("hidden_act", hiddenActivation, "gelu")) }
        if featureExtractorActivation != "gelu" { problems.append(("feat_extract_activation", featureExtractorActivation, "gelu")) }
        if !["group", "layer"].contains(featureExtractorNorm) { problems.append(("feat_extract_norm", featureExtractorNorm, "group or layer")) }
        let layers = convolutionChannels.count
        if layers == 0 || convolutionKernels.count != layers || convolutionStrides.count != layers {
            problems.append(("conv_dim/conv_kernel/conv_stride", "\(convolutionChannels)/\(convolutionKernels)/\(convolutionStrides)",
                             "three lists of one non-zero length"))
        }
        if (convolutionKernels + convolutionStrides + convolutionChannels).contains(where: { $0 <= 0 }) {
            problems.append(("conv_kernel/conv_stride/conv_dim", "a value ≤ 0", "positive values"))
        }
        if hiddenSize <= 0 || attentionHeads <= 0 || hiddenSize % attentionHeads != 0 {
            problems.append(("hidden_size/num_attention_heads", "\(hiddenSize)/\(attentionHeads)", "a hidden size divisible by the head count"))
        }
        if positionalGroups <= 0 || hiddenSize % positionalGroups != 0 {
            problems.append(("num_conv_pos_embedding_groups", "\(positionalGroups)", "a divisor of hidden_size \(hiddenSize)"))
        }
        if hiddenLayers <= 0 || intermediateSize <= 0 || positionalKernel <= 0 {
            problems.append(("num_hidden_layers/intermediate_size/num_conv_pos_embeddings",
                             "\(hiddenLayers)/\(intermediateSize)/\(positionalKernel)", "positive values"))
        }
        return problems
    }
}

/// The feature extractor's settings (`preprocessor_config.json`), of which merd needs one:
/// whether each utterance is normalised to zero mean and unit variance before the model.
public struct HuBERTPreprocessing: Codable, Sendable, Equatable {
    public var normalize: Bool
    public var samplingRate: Int

    public init(normalize: Bool, samplingRate: Int = 16000) {
        self.normalize = normalize
        self.samplingRate = samplingRate
    }

    enum CodingKeys: String, CodingKey {
        case normalize = "do_normalize"
        case samplingRate = "sampling_rate"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Wav2Vec2FeatureExtractor's defaults, for keys a file leaves out.
        normalize = try container.decodeIfPresent(Bool.self, forKey: .normalize) ?? true
        samplingRate = try container.decodeIfPresent(Int.self, forKey: .samplingRate) ?? 16000
    }
}

extension HuBERTConfiguration {
    /// Multiply-adds × 2 of the conv front end and projection for `samples` samples.
    public func frontEndFLOPs(samples: Int) -> Double {
        var length = samples, inputChannels = 1, flops = 0.0
        for (l, channels) in convolutionChannels.enumerated() {
            length = length >= convolutionKernels[l] ? (length - convolutionKernels[l]) / convolutionStrides[l] + 1 : 0
            flops += 2 * Double(length * channels * inputChannels * convolutionKernels[l])
            inputChannels = channels
        }
        return flops + 2 * Double(length * inputChannels * hiddenSize)
    }

    /// Multiply-adds × 2 of the positional convolution and `layers` transformer layers over
    /// `frames` frames (projections, attention, feed-forward).
    public func encoderFLOPs(frames: Int, layers: Int) -> Double {
        let t = Double(frames), d = Double(hiddenSize)
        let positional = 2 * t * d * (d / Double(positionalGroups)) * Double(positionalKernel)
        let perLayer = 8 * t * d * d + 4 * t * d * Double(intermediateSize) + 4 * t * t * d
        return positional + Double(layers) * perLayer
    }
}
