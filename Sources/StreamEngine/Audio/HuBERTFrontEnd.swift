import NeuralKit

/// HuBERT's convolutional front end (`feature_extractor` + `feature_projection`), run on
/// time-major frames so that a strided convolution is one dense layer: output frame t reads
/// input rows t·s … t·s + k − 1, k·Cin values side by side in memory (see
/// `HuBERTWeights.ConvolutionLayer.Product.dense`). Where the kernel is longer than the
/// stride those windows overlap and are copied into rows first (k/s times the input: 1.5× for
/// HuBERT's kernel-3, stride-2 layers), so that every backend reads a plain matrix.
///
/// Streaming: in the layer-norm family every frame depends only on a window of samples, so
/// the stream keeps, per layer, the input rows later frames still need and produces the
/// frames the whole signal gives, whatever the chunk sizes (up to float rounding: OpenBLAS
/// orders a row's sums differently for GEMMs of different heights). In the group-norm family
/// conv layer 0 is normalised over the whole utterance; there the stream can only gather
/// the audio and compute when it ends.
///
/// A layer whose input completes fewer than `minimumProductRows` output frames waits for more
/// before the signal ends: a whole utterance fed in quarter seconds gives the deeper layers
/// 200, 100, 50, 25 and 12 rows a chunk, where their products run at a fraction of the rate of a
/// few hundred rows. Live speech keeps 1, every frame as soon as its samples are in.
public struct HuBERTFrontEndStream: Sendable {
    let weights: HuBERTWeights
    let configuration: HuBERTConfiguration
    /// The fewest output frames a layer computes at once before `finish()` (1: as they come).
    public let minimumProductRows: Int
    /// Input rows (time-major, `inputChannels` wide) each layer has not consumed yet.
    private var pending: [[Float]]
    /// Projected frames [T, hiddenSize] produced so far.
    private var projected: [Float] = []
    /// Front-end output frames [T, C] produced so far (the `extract_features` of transformers).
    private var features: [Float] = []
    /// Reused output buffer of each layer, so a chunk allocates nothing once warmed up.
    private var scratch: [[Float]]
    /// Reused buffer for the overlapping input windows of a layer whose kernel exceeds its stride.
    private var windows: [Float] = []
    /// Group-norm family: all samples, processed at the end.
    private var utterance: [Float] = []
    private var finished = false

    init(weights: HuBERTWeights, configuration: HuBERTConfiguration, minimumProductRows: Int = 1) {
        precondition(minimumProductRows >= 1, "a layer computes at least one frame at once")
        self.weights = weights
        self.configuration = configuration
        self.minimumProductRows = minimumProductRows
        pending = Array(repeating: [], count: weights.frontEnd.count)
        scratch = Array(repeating: [], count: weights.frontEnd.count)
    }

    /// Frames available so far.
    public var frameCount: Int { projected.count / configuration.hiddenSize }

    /// Feeds the next samples (16 kHz, already normalised if the model wants it).
    public mutating func push(_ samples: UnsafeBufferPointer<Float>) {
        precondition(!finished, "push after finish")
        if configuration.isLayerNormFrontEnd {
            pending[0].append(contentsOf: samples)
            advance(final: false)
        } else {
            utterance.append(contentsOf: samples)
        }
    }

    public mutating func push(_ samples: [Float]) {
        samples.withUnsafeBufferPointer { push($0) }
    }

    /// Ends the signal: the group-norm family computes its frames now, the layer-norm family
    /// the frames its layers were holding back for `minimumProductRows`.
    public mutating func finish() {
        guard !finished else { return }
        finished = true
        if !configuration.isLayerNormFrontEnd {
            pending[0] = utterance
            utterance = []
        }
        advance(final: true)
    }

    /// Projected frames [T, hiddenSize] (the transformer's input).
    public var projectedFrames: Tensor {
        Tensor(shape: [frameCount, configuration.hiddenSize], scalars: projected)
    }

    /// Front-end output frames [T, C], before the projection.
    public var featureFrames: Tensor {
        Tensor(shape: [frameCount, weights.frontEnd.last!.outputChannels], scalars: features)
    }

    /// Runs every layer over what it can.
    private mutating func advance(final: Bool) {
        for (l, layer) in weights.frontEnd.enumerated() {
            let available = pending[l].count / layer.inputChannels
            guard available >= layer.kernel else { continue }
            let outputs = (available - layer.kernel) / layer.stride + 1
            guard final || outputs >= minimumProductRows else { continue }
            // Taken out of `scratch` (not copied) so the capacity is reused without copy-on-write.
            var output: [Float] = []
            swap(&output, &scratch[l])
            output.removeAll(keepingCapacity: true)
            output.append(contentsOf: repeatElement(0, count: outputs * layer.outputChannels))
            pending[l].withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    HuBERTFrontEndStream.convolve(layer, input: input.baseAddress!, frames: outputs, output: out.baseAddress!,
                                                  windows: &windows)
                }
            }
            // Keep the rows the next frame starts at onwards.
            pending[l].removeFirst(outputs * layer.stride * layer.inputChannels)
            if l + 1 < weights.frontEnd.count {
                pending[l + 1].append(contentsOf: output)
            } else {
                emit(output, frames: outputs)
            }
            scratch[l] = output
        }
    }

    /// Conv, norm and GELU of one layer, `frames` output rows. `windows` is scratch space.
    static func convolve(_ layer: HuBERTWeights.ConvolutionLayer, input: UnsafePointer<Float>, frames: Int,
                         output: UnsafeMutablePointer<Float>, windows: inout [Float]) {
        let channels = layer.outputChannels
        switch layer.product {
        case .taps(let taps):
            // Frames split over the compute budget: this layer is ~25 ms of one core in a
            // 10-s pass (its output is 512 values for every 5 samples), beside products that
            // use every thread.
            RowParallel.forEach(rows: frames, width: channels) { range in
                if let bias = layer.bias {
                    bias.withUnsafeBufferPointer { b in
                        for t in range { (output + t * channels).update(from: b.baseAddress!, count: channels) }
                    }
                } else {
                    (output + range.lowerBound * channels).update(repeating: 0, count: range.count * channels)
                }
                for (j, tap) in taps.enumerated() {
                    tap.withUnsafeBufferPointer { w in
                        for t in range {
                            let x = input[t * layer.stride + j]
                            let row = output + t * channels
                            for o in 0..<channels { row[o] += x * w[o] }
                        }
                    }
                }
            }
        case .dense(let linear):
            let window = layer.kernel * layer.inputChannels
            if layer.kernel == layer.stride {
                // Windows tile the input exactly: the input rows are the layer's rows as they are.
                linear.apply(rows: frames, input: input, output: output)
            } else {
                if windows.count < frames * window { windows = [Float](repeating: 0, count: frames * window) }
                windows.withUnsafeMutableBufferPointer { rows in
                    for t in 0..<frames {
                        (rows.baseAddress! + t * window).update(from: input + t * layer.stride * layer.inputChannels, count: window)
                    }
                    linear.apply(rows: frames, input: rows.baseAddress!, output: output)
                }
            }
        }
        switch layer.norm {
        case .none: break
        case .layer(let norm): norm.apply(rows: frames, to: output)
        case .group(let norm): groupNormOverTime(norm, output, frames: frames, channels: channels)
        }
        Activation.gelu(output, count: frames * channels)
    }

    /// GroupNorm with one group per channel, on time-major rows: statistics per column.
    static func groupNormOverTime(_ norm: GroupNorm, _ data: UnsafeMutablePointer<Float>, frames: Int, channels: Int) {
        let gamma = norm.weight.scalars, beta = norm.bias.scalars
        var mean = [Double](repeating: 0, count: channels)
        for t in 0..<frames { for c in 0..<channels { mean[c] += Double(data[t * channels + c]) } }
        for c in 0..<channels { mean[c] /= Double(frames) }
        var variance = [Double](repeating: 0, count: channels)
        for t in 0..<frames {
            for c in 0..<channels {
                let d = Double(data[t * channels + c]) - mean[c]
                variance[c] += d * d
            }
        }
        let scale = (0..<channels).map { Float(1 / (variance[$0] / Double(frames) + Double(norm.epsilon)).squareRoot()) }
        let shift = (0..<channels).map { Float(mean[$0]) }
        for t in 0..<frames {
            for c in 0..<channels {
                let i = t * channels + c
                data[i] = (data[i] - shift[c]) * scale[c] * gamma[c] + beta[c]
            }
        }
    }

    /// Projects finished front-end frames to the model width and keeps both.
    private mutating func emit(_ frames: [Float], frames count: Int) {
        features.append(contentsOf: frames)
        var rows = frames
        if let norm = weights.projectionNorm {
            rows.withUnsafeMutableBufferPointer { norm.apply(rows: count, to: $0.baseAddress!) }
        }
        let start = projected.count
        projected.append(contentsOf: repeatElement(0, count: count * configuration.hiddenSize))
        rows.withUnsafeBufferPointer { input in
            projected.withUnsafeMutableBufferPointer { out in
                weights.projection.apply(rows: count, input: input.baseAddress!, output: out.baseAddress! + start)
            }
        }
    }
}
