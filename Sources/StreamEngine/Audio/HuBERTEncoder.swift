import NeuralKit

/// HuBERT's transformer (`encoder`): positional convolution, then the layers, in either
/// arrangement: post-layer-norm (base family, `HubertEncoder`) or pre-layer-norm ("stable",
/// large family, `HubertEncoderStableLayerNorm`).
///
/// Hidden state k, as transformers numbers them: 0 is the input of the first layer, k the
/// output of layer k. Computation stops after the highest requested k.
///
/// - Important: for k = L in the stable family this follows transformers ≥ 5
///   (`capture_outputs(tie_last_hidden_states=False)`): the last layer's output without the
///   encoder's final layer norm. transformers 4 returned it with that norm (= last_hidden_state).
///   Layers below L, such as the paper's 18–20 of 24, are the same in both.
struct HuBERTEncoder: Sendable {
    let weights: HuBERTWeights
    let configuration: HuBERTConfiguration

    /// Runs over `frames` [T, D] and returns the requested hidden states, each [T, D]; nil
    /// when `abandonIf` said so (it is asked before each layer). `rows` (≥ T) is what the
    /// layers run on, `Linear.efficientRows(T)` unless a test asks for other padding;
    /// `feedForwardRows` the feed-forward's block (``HuBERTWorkspace/feedForwardRows``).
    func hiddenStates(frames: Tensor, layers requested: Set<Int>, rows: Int? = nil,
                      feedForwardRows: Int = HuBERTWorkspace.feedForwardRows,
                      abandonIf: () -> Bool = { false }) -> [Int: Tensor]? {
        let length = frames.shape[0], width = configuration.hiddenSize
        guard let highest = requested.max() else { return [:] }
        precondition(highest <= weights.layers.count, "layer \(highest) was not loaded")
        var hidden = frames.contiguous()
        addPositionalEmbedding(to: &hidden)
        if !configuration.stableLayerNorm {
            hidden = weights.encoderNorm(hidden)
        }
        var states: [Int: Tensor] = [:]
        if requested.contains(0) { states[0] = hidden }
        guard highest > 0 else { return states }

        // Every step but attention treats rows alone, so the layers run on the row count the
        // GEMMs are fastest at (up to 40 % less time for a short window); the padding rows
        // start as zeros, are kept out of attention and are dropped from the states.
        let rows = max(length, rows ?? weights.projection.efficientRows(length))
        var workspace = HuBERTWorkspace(rows: rows, width: width, intermediate: configuration.intermediateSize,
                                        feedForwardRows: feedForwardRows,
                                        attention: weights.layers[0].attention.makeScratch(length: rows))
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        defer { padded.deallocate() }
        hidden.withUnsafeBufferPointer { padded.initialize(from: $0.baseAddress!, count: length * width) }
        (padded + length * width).initialize(repeating: 0, count: (rows - length) * width)
        let step = LayerStep(length: length, rows: rows, width: width)
        for (index, layer) in weights.layers.prefix(highest).enumerated() {
            if abandonIf() { return nil }
            if configuration.stableLayerNorm {
                stableLayer(layer, hidden: padded, step, workspace: &workspace)
            } else {
                postNormLayer(layer, hidden: padded, step, workspace: &workspace)
            }
            let k = index + 1
            if requested.contains(k) {
                states[k] = Tensor(shape: [length, width]) { $0.baseAddress!.update(from: padded, count: length * width) }
            }
        }
        return states
    }

    /// The sequence's length, and the rows the layers run on (`Linear.efficientRows`).
    private struct LayerStep {
        let length: Int
        let rows: Int
        let width: Int
        var count: Int { rows * width }
    }

    /// hidden += GELU(conv(hidden)) with "same" length (the even kernel's extra frame dropped).
    private func addPositionalEmbedding(to hidden: inout Tensor) {
        let length = hidden.shape[0]
        var channelsFirst = hidden.transposed().contiguous().reshaped([1, configuration.hiddenSize, length])
        if let norm = weights.positionalNorm { channelsFirst = norm(channelsFirst) }
        let convolved = weights.positionalConvolution(channelsFirst)  // [1, D, T or T+1]
        let produced = convolved.shape[2]
        let width = configuration.hiddenSize
        convolved.withUnsafeBufferPointer { p in
            hidden.withUnsafeMutableBufferPointer { h in
                var row = [Float](repeating: 0, count: length)
                for channel in 0..<width {
                    for t in 0..<length { row[t] = p[channel * produced + t] }
                    row.withUnsafeMutableBufferPointer { Activation.gelu($0) }
                    for t in 0..<length { h[t * width + channel] += row[t] }
                }
            }
        }
    }

    /// x ← x + Attn(LN₁(x)); x ← x + FF(LN₂(x)).
    private func stableLayer(_ layer: HuBERTWeights.EncoderLayer, hidden: UnsafeMutablePointer<Float>, _ step: LayerStep,
                             workspace: inout HuBERTWorkspace) {
        workspace.normalized.update(from: hidden, count: step.count)
        layer.attentionNorm.apply(rows: step.rows, to: workspace.normalized)
        layer.attention.apply(length: step.length, rows: step.rows, input: workspace.normalized, output: hidden,
                              accumulate: true, scratch: &workspace.attention)
        workspace.normalized.update(from: hidden, count: step.count)
        layer.finalNorm.apply(rows: step.rows, to: workspace.normalized)
        feedForward(layer, input: workspace.normalized, accumulateInto: hidden, rows: step.rows, workspace: &workspace)
    }

    /// x ← LN₁(x + Attn(x)); x ← LN₂(x + FF(x)).
    private func postNormLayer(_ layer: HuBERTWeights.EncoderLayer, hidden: UnsafeMutablePointer<Float>, _ step: LayerStep,
                               workspace: inout HuBERTWorkspace) {
        workspace.normalized.update(from: hidden, count: step.count)
        layer.attention.apply(length: step.length, rows: step.rows, input: workspace.normalized, output: hidden,
                              accumulate: true, scratch: &workspace.attention)
        layer.attentionNorm.apply(rows: step.rows, to: hidden)
        workspace.normalized.update(from: hidden, count: step.count)
        feedForward(layer, input: workspace.normalized, accumulateInto: hidden, rows: step.rows, workspace: &workspace)
        layer.finalNorm.apply(rows: step.rows, to: hidden)
    }

    /// output += W₂ · GELU(W₁ · input + b₁) + b₂, the residual added by the second GEMM, in
    /// blocks of the workspace's `feedForwardBlock` rows.
    private func feedForward(_ layer: HuBERTWeights.EncoderLayer, input: UnsafePointer<Float>,
                             accumulateInto output: UnsafeMutablePointer<Float>, rows: Int,
                             workspace: inout HuBERTWorkspace) {
        let width = configuration.hiddenSize, intermediateSize = configuration.intermediateSize
        for first in stride(from: 0, to: rows, by: workspace.feedForwardBlock) {
            let count = min(workspace.feedForwardBlock, rows - first)
            layer.feedForwardIn.apply(rows: count, input: input + first * width, output: workspace.intermediate)
            Activation.gelu(workspace.intermediate, count: count * intermediateSize)
            layer.feedForwardOut.apply(rows: count, input: workspace.intermediate, output: output + first * width,
                                       accumulate: true)
        }
    }
}

/// Activation buffers of one encoder run, allocated once per utterance.
struct HuBERTWorkspace: ~Copyable {
    let normalized: UnsafeMutablePointer<Float>
    /// The feed-forward's inner activations, `feedForwardBlock` rows of them.
    let intermediate: UnsafeMutablePointer<Float>
    let feedForwardBlock: Int
    var attention: AttentionScratch

    /// Rows of the feed-forward's inner activations at a time. Each row's feed-forward is its
    /// own, so a long pass runs it in blocks: at 10 s (499 frames, 4096 wide) the whole held
    /// 8 MB in F32 plus its 4-MB BF16 copy, a block holds 2 MB and 1 MB; live windows (48–60
    /// rows) fit in one. oneDNN runs these products as fast on 128 rows as on 499 (`merd bench
    /// gemm --rows 128,256,499`, [M, 1024]·[1024, 4096]ᵀ and back: F32 301–316 against 299–309
    /// GFLOP/s, BF16 166–168 against 166).
    static let feedForwardRows = 128

    init(rows: Int, width: Int, intermediate intermediateSize: Int, feedForwardRows: Int,
         attention: consuming AttentionScratch) {
        precondition(feedForwardRows > 0, "feed-forward blocks need rows")
        normalized = .allocate(capacity: max(1, rows * width))
        feedForwardBlock = min(rows, feedForwardRows)
        intermediate = .allocate(capacity: max(1, feedForwardBlock * intermediateSize))
        self.attention = attention
    }

    deinit {
        normalized.deallocate()
        intermediate.deallocate()
    }
}
