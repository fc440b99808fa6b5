import Foundation
import NeuralKit

/// Silero VAD (v6, 16 kHz; Silero Team, MIT), the speech detector of the PyPI package
/// `silero-vad` as its `silero_vad_16k.safetensors` holds it and its `tinygrad_model.py` runs
/// it: for each 32 ms chunk (512 samples, with the previous chunk's last 64 before it) the
/// probability that it is speech.
///
/// A chunk goes through a fixed STFT (a convolution with 258 basis rows, window 256, hop 128,
/// the input reflect-padded by 64 on the right: 4 frames of 129 magnitudes), four 3-tap
/// convolutions with ReLU (129→128, 128→64 stride 2, 64→64 stride 2, 64→128: one step
/// left), an LSTM cell of 128 carried from chunk to chunk, and ReLU, a 1×1 convolution and a
/// sigmoid. About 0.7 M multiply-adds a chunk.
///
/// Checkpoint keys: `stft_conv.weight` [258, 1, 256]; `conv{1…4}.{weight,bias}` [out, in, 3];
/// `lstm_cell.{weight_ih,weight_hh}` [512, 128] and `.{bias_ih,bias_hh}` [512] (gates i, f,
/// g, o as torch orders them); `final_conv.{weight,bias}` [1, 128, 1], [1].
public struct SileroVAD: Sendable {
    public static let sampleRate = 16000
    /// Samples a chunk brings.
    public static let chunkSamples = 512
    /// Samples of the previous chunk seen again before each chunk.
    public static let contextSamples = 64
    static let window = 256, hop = 128, bins = 129, hidden = 128

    /// The STFT basis as a dense layer: a 256-sample frame → 129 real then 129 imaginary parts.
    let stft: Linear
    /// The four convolutions, each a dense layer over 3 taps of its input (im2col):
    /// [out, in, 3] read as [out, in · 3].
    let convolutions: [(layer: Linear, stride: Int)]
    /// The LSTM cell's input and recurrent products; each carries its own bias.
    let inputGates: Linear, recurrentGates: Linear
    let outputWeight: [Float], outputBias: Float

    /// Loads `silero_vad_16k.safetensors` (or a file of the same layout). The layers run on
    /// OpenBLAS in F32 whatever the process's backend and precision: its products are tiny
    /// (at most 4 rows), where oneDNN's threads cost more than the arithmetic (10 ms per
    /// second of audio on 2 threads against OpenBLAS's 1.1, `merd bench noise`).
    public init(path: String) throws(SileroVADError) {
        var reader = try StrictCheckpoint<SileroVADError>(path: path) { error in
            if case .notFound(let file) = error { return .missingFile(path: file) }
            return .weights(error)
        }
        let compute = Compute.openBLAS
        stft = Linear(weight: try reader.tensor("stft_conv.weight", shape: [2 * Self.bins, 1, Self.window])
                        .reshaped([2 * Self.bins, Self.window]), bias: nil, compute: compute)
        var convolutions: [(Linear, Int)] = []
        for (index, (inputs, outputs, stride)) in [(Self.bins, 128, 1), (128, 64, 2), (64, 64, 2), (64, Self.hidden, 1)].enumerated() {
            let name = "conv\(index + 1)"
            let weight = try reader.tensor("\(name).weight", shape: [outputs, inputs, 3])
            convolutions.append((Linear(weight: weight.reshaped([outputs, inputs * 3]),
                                        bias: try reader.tensor("\(name).bias", shape: [outputs]), compute: compute), stride))
        }
        self.convolutions = convolutions
        let gates = 4 * Self.hidden
        inputGates = Linear(weight: try reader.tensor("lstm_cell.weight_ih", shape: [gates, Self.hidden]),
                            bias: try reader.tensor("lstm_cell.bias_ih", shape: [gates]), compute: compute)
        recurrentGates = Linear(weight: try reader.tensor("lstm_cell.weight_hh", shape: [gates, Self.hidden]),
                                bias: try reader.tensor("lstm_cell.bias_hh", shape: [gates]), compute: compute)
        outputWeight = try reader.tensor("final_conv.weight", shape: [1, Self.hidden, 1]).scalars
        outputBias = try reader.tensor("final_conv.bias", shape: [1]).scalars[0]
        try reader.finish()
    }

    /// What the model carries from one chunk to the next: the last 64 samples and the LSTM's
    /// hidden and cell state. Zeros at the start of a stream.
    public struct State: Sendable, Equatable {
        var context = [Float](repeating: 0, count: SileroVAD.contextSamples)
        var hidden = [Float](repeating: 0, count: SileroVAD.hidden)
        var cell = [Float](repeating: 0, count: SileroVAD.hidden)

        public init() {}
    }

    /// The speech probability of the next chunk of the stream `state` follows.
    /// - Precondition: `chunk` holds `chunkSamples` samples at 16 kHz.
    public func probability(of chunk: ArraySlice<Float>, state: inout State) -> Float {
        precondition(chunk.count == Self.chunkSamples, "Silero VAD reads chunks of \(Self.chunkSamples) samples, got \(chunk.count)")
        // Context, chunk, then the reflection of the end (torch's "reflect" leaves out the edge).
        var padded = state.context
        padded.reserveCapacity(Self.contextSamples + Self.chunkSamples + 64)
        padded.append(contentsOf: chunk)
        let end = padded.count
        for j in 0..<64 { padded.append(padded[end - 2 - j]) }
        state.context = Array(padded[(end - Self.contextSamples)..<end])

        // The STFT's frames, one row each, through the basis; magnitudes, time-major [4, 129].
        let frames = (padded.count - Self.window) / Self.hop + 1
        var framed = [Float](repeating: 0, count: frames * Self.window)
        for t in 0..<frames {
            framed.replaceSubrange((t * Self.window)..<((t + 1) * Self.window), with: padded[(t * Self.hop)..<(t * Self.hop + Self.window)])
        }
        let spectrum = run(stft, rows: frames, input: framed)
        var x = [Float](repeating: 0, count: frames * Self.bins)
        for t in 0..<frames {
            for f in 0..<Self.bins {
                let re = spectrum[t * 2 * Self.bins + f], im = spectrum[t * 2 * Self.bins + Self.bins + f]
                x[t * Self.bins + f] = (re * re + im * im).squareRoot()
            }
        }
        var length = frames, channels = Self.bins
        for (layer, stride) in convolutions {
            (x, length) = convolve(layer, stride: stride, input: x, length: length, channels: channels)
            channels = layer.outputFeatures
            for i in x.indices { x[i] = max(0, x[i]) }
        }
        precondition(length == 1, "Silero VAD's encoder ends in one step for a 512-sample chunk")

        // The LSTM cell, then ReLU, the 1×1 convolution and the sigmoid.
        let gates = zip(run(inputGates, rows: 1, input: x), run(recurrentGates, rows: 1, input: state.hidden)).map(+)
        let h = Self.hidden
        for k in 0..<h {
            let input = sigmoid(gates[k]), forget = sigmoid(gates[h + k])
            let candidate = tanhf(gates[2 * h + k]), output = sigmoid(gates[3 * h + k])
            state.cell[k] = forget * state.cell[k] + input * candidate
            state.hidden[k] = output * tanhf(state.cell[k])
        }
        var logit = outputBias
        for k in 0..<h { logit += outputWeight[k] * max(0, state.hidden[k]) }
        return sigmoid(logit)
    }

    /// A 3-tap convolution with padding 1 on time-major [length, channels]: each output step
    /// gathers its taps into one row (channel-major, tap-minor, as [out, in, 3] flattens) and
    /// the layer takes all rows in one product.
    private func convolve(_ layer: Linear, stride: Int, input: [Float], length: Int, channels: Int) -> ([Float], Int) {
        let outLength = (length + 2 - 3) / stride + 1
        var rows = [Float](repeating: 0, count: outLength * channels * 3)
        for t in 0..<outLength {
            for tap in 0..<3 {
                let source = t * stride + tap - 1
                guard source >= 0, source < length else { continue }
                for c in 0..<channels { rows[(t * channels + c) * 3 + tap] = input[source * channels + c] }
            }
        }
        return (run(layer, rows: outLength, input: rows), outLength)
    }

    /// OpenBLAS runs a product on one thread up to 2¹⁸ multiply-adds (its
    /// GEMM_MULTITHREAD_THRESHOLD × SMP_THRESHOLD_MIN) and wakes its workers above: the STFT's
    /// 4 × 258 × 256 is just above, so it goes in smaller row groups, and OpenBLAS's workers
    /// stay asleep (a spinning worker slows the oneDNN products that follow).
    static let singleThreadProduct = 1 << 18

    private func run(_ layer: Linear, rows: Int, input: [Float]) -> [Float] {
        let step = max(1, Self.singleThreadProduct / (layer.inputFeatures * layer.outputFeatures))
        return [Float](unsafeUninitializedCapacity: rows * layer.outputFeatures) { output, count in
            input.withUnsafeBufferPointer { x in
                for first in stride(from: 0, to: rows, by: step) {
                    layer.apply(rows: min(step, rows - first), input: x.baseAddress! + first * layer.inputFeatures,
                                output: output.baseAddress! + first * layer.outputFeatures)
                }
            }
            count = rows * layer.outputFeatures
        }
    }
}

@inline(__always) private func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
