import Foundation
import NeuralKit

/// The parameters of a HuBERT/wav2vec2 model, in the form the Swift layers compute with.
///
/// Checkpoint keys (HuggingFace `HubertModel` / `Wav2Vec2Model`, modeling_hubert.py):
///
/// | field | key template |
/// | --- | --- |
/// | front end conv l | `feature_extractor.conv_layers.%d.conv.weight` [C, Cin, k], `.bias` [C] with conv_bias |
/// | front end norm l | `feature_extractor.conv_layers.%d.layer_norm.{weight,bias}` (every l, layer family; l = 0, group family) |
/// | projection norm | `feature_projection.layer_norm.{weight,bias}` [C] |
/// | projection | `feature_projection.projection.{weight,bias}` [D, C] |
/// | positional conv | `encoder.pos_conv_embed.conv.{weight_g,weight_v}` or `.parametrizations.weight.{original0,original1}`, `.bias` |
/// | encoder norm | `encoder.layer_norm.{weight,bias}` [D] |
/// | attention | `encoder.layers.%d.attention.{q,k,v,out}_proj.{weight,bias}` [D, D] |
/// | norms | `encoder.layers.%d.layer_norm`, `encoder.layers.%d.final_layer_norm` |
/// | feed-forward | `encoder.layers.%d.feed_forward.intermediate_dense` [I, D], `.output_dense` [D, I] |
///
/// `masked_spec_embed` (training-time masking) is read past.
struct HuBERTWeights: Sendable {
    enum FrontEndNorm: Sendable {
        case none
        case layer(LayerNorm)
        /// Per-channel over the whole utterance (GroupNorm with one group per channel).
        case group(GroupNorm)
    }

    struct ConvolutionLayer: Sendable {
        /// How the layer's convolution is computed.
        enum Product: Sendable {
            /// One input channel (conv 0): `taps[j]` is [1, C], the weight at tap j; a direct
            /// loop, since K = kernel (10) is too small for a GEMM to pay.
            case taps([Tensor])
            /// Time-major frames make a strided convolution a dense layer: output frame t reads
            /// input rows t·s … t·s + k − 1, which lie side by side in memory, so the layer's
            /// weight laid out as [k · Cin, C] (tap-major rows) times those k·Cin values is the
            /// frame. A `Linear`, so it runs on the chosen backend and precision like the rest.
            case dense(Linear)
        }
        let product: Product
        /// The convolution's bias, added by the direct loop (a `dense` product has it inside).
        let bias: Tensor?
        let norm: FrontEndNorm
        let kernel: Int
        let stride: Int
        let inputChannels: Int
        let outputChannels: Int
    }

    struct EncoderLayer: Sendable {
        let attention: MultiHeadSelfAttention
        /// Before attention (stable) or after the attention residual (post-norm).
        let attentionNorm: LayerNorm
        let feedForwardIn: Linear
        let feedForwardOut: Linear
        /// Before the feed-forward (stable) or after its residual (post-norm).
        let finalNorm: LayerNorm
    }

    let frontEnd: [ConvolutionLayer]
    let projectionNorm: LayerNorm?
    let projection: Linear
    let positionalNorm: BatchNorm?
    let positionalConvolution: Conv1d
    let encoderNorm: LayerNorm
    /// Only the layers up to the highest one the caller will ask for.
    let layers: [EncoderLayer]
}

/// Reads `HuBERTWeights` from a checkpoint (safetensors or PyTorch), strictly: every tensor the architecture
/// has must be there with its shape, and every tensor there must belong to it.
///
/// Follows transformers' `modeling_hubert.py` (v4/v5) for names and semantics. The loader,
/// not the layers, does every rename and reshape: the weight-normed positional convolution
/// is folded (w = g · v / ‖v‖, norm over all but the kernel axis, as `weight_norm(dim=2)`),
/// Q/K/V are fused by `MultiHeadSelfAttention`, and conv taps are transposed for time-major GEMMs.
struct HuBERTWeightLoader {
    let configuration: HuBERTConfiguration
    /// Reads under `hubert.` or `wav2vec2.` when the file is a task model (…ForCTC) around the base model.
    private var checkpoint: StrictCheckpoint<HuBERTError>

    /// Heads of task models, outside the base model, that a loader of the base model skips.
    static let taskHeads = ["lm_head.", "final_proj.", "label_embs_concat", "project_hid.", "project_q.",
                            "quantizer.", "projector.", "classifier.", "dropout."]

    init(file: any CheckpointFile, configuration: HuBERTConfiguration) {
        self.configuration = configuration
        let modelPrefix = configuration.modelType + "."
        let prefix = file.names.contains { $0.hasPrefix(modelPrefix + "feature_extractor.") } ? modelPrefix : ""
        checkpoint = StrictCheckpoint(file: file, prefix: prefix) { error in
            if case .unknownTensors(let file, let names) = error { return .unknownTensors(file: file, names: names) }
            return .weights(error)
        }
    }

    mutating func load(layers layerCount: Int) throws(HuBERTError) -> HuBERTWeights {
        let c = configuration
        var frontEnd: [HuBERTWeights.ConvolutionLayer] = []
        var inputChannels = 1
        for (l, channels) in c.convolutionChannels.enumerated() {
            let kernel = c.convolutionKernels[l]
            let base = "feature_extractor.conv_layers.\(l)"
            let weight = try tensor("\(base).conv.weight", [channels, inputChannels, kernel])
            let bias = c.convolutionBias ? try tensor("\(base).conv.bias", [channels]) : nil
            let norm: HuBERTWeights.FrontEndNorm
            if c.isLayerNormFrontEnd {
                norm = .layer(LayerNorm(weight: try tensor("\(base).layer_norm.weight", [channels]),
                                        bias: try tensor("\(base).layer_norm.bias", [channels])))
            } else if l == 0 {
                norm = .group(GroupNorm(groups: channels, weight: try tensor("\(base).layer_norm.weight", [channels]),
                                        bias: try tensor("\(base).layer_norm.bias", [channels])))
            } else {
                norm = .none
            }
            // [k · Cin, C]: row j·Cin + i is input channel i at tap j, as the frames lie.
            let tapMajor = weight.withUnsafeBufferPointer { w in
                Tensor(shape: [kernel * inputChannels, channels]) { out in
                    for j in 0..<kernel {
                        for i in 0..<inputChannels {
                            for o in 0..<channels { out[(j * inputChannels + i) * channels + o] = w[(o * inputChannels + i) * kernel + j] }
                        }
                    }
                }
            }
            let product: HuBERTWeights.ConvolutionLayer.Product = inputChannels == 1
                ? .taps((0..<kernel).map { j in tapMajor.rows(j..<(j + 1)).contiguous() })
                : .dense(Linear(inputMajorWeight: tapMajor, bias: bias))
            frontEnd.append(.init(product: product, bias: inputChannels == 1 ? bias : nil, norm: norm, kernel: kernel,
                                  stride: c.convolutionStrides[l], inputChannels: inputChannels, outputChannels: channels))
            inputChannels = channels
        }

        let d = c.hiddenSize
        let projectionNorm = c.hasProjectionLayerNorm
            ? LayerNorm(weight: try tensor("feature_projection.layer_norm.weight", [inputChannels]),
                        bias: try tensor("feature_projection.layer_norm.bias", [inputChannels]), epsilon: c.layerNormEpsilon)
            : nil
        let projection = try linear("feature_projection.projection", out: d, in: inputChannels)

        let groupWidth = d / c.positionalGroups
        let positionalShape = [d, groupWidth, c.positionalKernel]
        let positionalNorm: BatchNorm?
        let positionalWeight: Tensor
        if c.positionalBatchNorm == true {
            positionalNorm = BatchNorm(
                weight: try tensor("encoder.pos_conv_embed.batch_norm.weight", [d]),
                bias: try tensor("encoder.pos_conv_embed.batch_norm.bias", [d]),
                runningMean: try tensor("encoder.pos_conv_embed.batch_norm.running_mean", [d]),
                runningVariance: try tensor("encoder.pos_conv_embed.batch_norm.running_var", [d]))
            checkpoint.skip("encoder.pos_conv_embed.batch_norm.num_batches_tracked")
            positionalWeight = try tensor("encoder.pos_conv_embed.conv.weight", positionalShape)
        } else {
            positionalNorm = nil
            let legacy = checkpoint.has("encoder.pos_conv_embed.conv.weight_g")
            let g = try tensor(legacy ? "encoder.pos_conv_embed.conv.weight_g" : "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
                               [1, 1, c.positionalKernel])
            let v = try tensor(legacy ? "encoder.pos_conv_embed.conv.weight_v" : "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
                               positionalShape)
            positionalWeight = Self.foldWeightNorm(g: g, v: v)
        }
        // Laid out now and held once (33 MiB in F32 for the large models): the length only
        // picks the primitive the layout is asked with; a length whose primitive wants another
        // layout gets it from this one.
        let positionalConvolution = Conv1d(
            weight: positionalWeight, bias: try tensor("encoder.pos_conv_embed.conv.bias", [d]),
            padding: .sides(left: c.positionalKernel / 2, right: c.positionalKernel / 2), groups: c.positionalGroups,
            layingOutFor: 250)
        let encoderNorm = try layerNorm("encoder.layer_norm", d)

        var layers: [HuBERTWeights.EncoderLayer] = []
        for l in 0..<c.hiddenLayers {
            let base = "encoder.layers.\(l)"
            guard l < layerCount else {
                // Known, not needed: computation stops below this layer, so it is not kept in memory.
                let layerPrefix = checkpoint.prefix + base + "."
                checkpoint.skip { $0.hasPrefix(layerPrefix) }
                continue
            }
            layers.append(.init(
                attention: MultiHeadSelfAttention(
                    fusedInputProjection: try fusedProjection("\(base).attention", width: d),
                    output: try linear("\(base).attention.out_proj", out: d, in: d),
                    heads: c.attentionHeads),
                attentionNorm: try layerNorm("\(base).layer_norm", d),
                feedForwardIn: try linear("\(base).feed_forward.intermediate_dense", out: c.intermediateSize, in: d),
                feedForwardOut: try linear("\(base).feed_forward.output_dense", out: d, in: c.intermediateSize),
                finalNorm: try layerNorm("\(base).final_layer_norm", d)))
            // The layer's transient F32 copies are freed by now; glibc keeps such holes
            // resident, and over 24 layers they added 620 MiB to the peak (HeapMemory).
            HeapMemory.returnFreePages()
        }
        checkpoint.skip("masked_spec_embed")
        // A task model's head sits beside the base model, outside the prefix.
        if !checkpoint.prefix.isEmpty {
            let prefix = checkpoint.prefix
            checkpoint.skip { name in !name.hasPrefix(prefix) && Self.taskHeads.contains { name.hasPrefix($0) } }
        }
        try checkpoint.finish()
        return HuBERTWeights(frontEnd: frontEnd, projectionNorm: projectionNorm, projection: projection,
                             positionalNorm: positionalNorm, positionalConvolution: positionalConvolution,
                             encoderNorm: encoderNorm, layers: layers)
    }

    /// `weight_norm(dim=2)`: w[o, i, k] = g[k] · v[o, i, k] / ‖v[:, :, k]‖.
    static func foldWeightNorm(g: Tensor, v: Tensor) -> Tensor {
        let (outputs, inputs, kernel) = (v.shape[0], v.shape[1], v.shape[2])
        let gains = g.scalars
        var norms = [Double](repeating: 0, count: kernel)
        let values = v.scalars
        for i in 0..<(outputs * inputs) {
            for k in 0..<kernel { norms[k] += Double(values[i * kernel + k]) * Double(values[i * kernel + k]) }
        }
        let scales = (0..<kernel).map { Float(Double(gains[$0]) / norms[$0].squareRoot()) }
        return Tensor(shape: v.shape) { out in
            for i in 0..<(outputs * inputs) {
                for k in 0..<kernel { out[i * kernel + k] = values[i * kernel + k] * scales[k] }
            }
        }
    }

    private mutating func tensor(_ name: String, _ shape: [Int]) throws(HuBERTError) -> Tensor {
        try checkpoint.tensor(name, shape: shape)
    }

    /// A linear layer read straight into its input-major layout (no transient copy).
    private mutating func linear(_ name: String, out: Int, in inputs: Int) throws(HuBERTError) -> Linear {
        let weight = try matrix(["\(name).weight"], out: out, in: inputs)
        return Linear(inputMajorWeight: weight, bias: try tensor("\(name).bias", [out]))
    }

    /// Q, K and V projections read side by side into one [D, 3D] input-major matrix.
    private mutating func fusedProjection(_ base: String, width: Int) throws(HuBERTError) -> Linear {
        let parts = ["q_proj", "k_proj", "v_proj"].map { "\(base).\($0)" }
        let weight = try matrix(parts.map { "\($0).weight" }, out: width, in: width)
        var biases: [Float] = []
        for part in parts { biases += try tensor("\(part).bias", [width]).scalars }
        return Linear(inputMajorWeight: weight, bias: Tensor(shape: [3 * width], scalars: biases))
    }

    /// [in, parts · out]: each named [out, in] weight transposed into its block of columns.
    private mutating func matrix(_ names: [String], out: Int, in inputs: Int) throws(HuBERTError) -> Tensor {
        try checkpoint.matrix(names, rows: out, columns: inputs, transposed: true)
    }

    private mutating func layerNorm(_ name: String, _ width: Int) throws(HuBERTError) -> LayerNorm {
        LayerNorm(weight: try tensor("\(name).weight", [width]), bias: try tensor("\(name).bias", [width]),
                  epsilon: configuration.layerNormEpsilon)
    }
}
