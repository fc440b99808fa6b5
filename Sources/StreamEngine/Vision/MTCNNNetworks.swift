import Foundation
import NeuralKit

/// The three cascaded nets of MTCNN (Zhang et al. 2016) as the PyPI package `mtcnn` 1.0.0
/// defines them (mtcnn/network/{pnet,rnet,onet}.py), computing in NCHW.
///
/// Checkpoint keys (`tools/convert_mtcnn.py` names each array of the package's weight lists
/// after its Keras layer, in Keras layout):
///
/// | field | key | Keras layout |
/// | --- | --- | --- |
/// | conv | `{pnet,rnet,onet}.conv%d.kernel`, `.bias` | [kh, kw, in, out] |
/// | PReLU | `….prelu%d.alpha` | [1, 1, C] after convs (shared over H, W), [C] after dense |
/// | dense | `rnet.fc4`, `onet.fc5`, heads `pnet.conv4-{1,2}`, `rnet.fc5-{1,2}`, `onet.fc6-{1,2,3}` `.kernel` [in, out] |
///
/// The loader transposes conv kernels to [out, in, kh, kw] and reorders the rows of the first
/// dense layer: Keras flattens after `Permute((2, 1, 3))`, i.e. in (w, h, c) order, while
/// NCHW flattens in (c, h, w) order.
struct MTCNNNetworks: Sendable {
    struct ConvolutionBlock: Sendable {
        let conv: Conv2d
        let activation: PReLU
        let pool: PoolingWindow?

        func callAsFunction(_ x: Tensor) -> Tensor {
            let y = activation(conv(x))
            return pool.map { y.maxPool2d($0) } ?? y
        }
    }

    struct ProposalNet: Sendable {
        let blocks: [ConvolutionBlock]
        let boxRegression: Conv2d
        let faceScore: Conv2d

        /// [3, H, W] → offsets [4, h, w] and face probabilities [h, w].
        func callAsFunction(_ image: Tensor) -> (offsets: Tensor, probabilities: Tensor) {
            var x = image.reshaped([1] + image.shape)
            for block in blocks { x = block(x) }
            let logits = faceScore(x)
            let (h, w) = (logits.shape[2], logits.shape[3])
            // Softmax over the two channels at each position: p(face) = 1 / (1 + e^(l0 − l1)),
            // computed as the max-subtracted softmax Keras applies.
            let probabilities = logits.withUnsafeBufferPointer { l in
                Tensor(shape: [h, w]) { out in
                    for i in 0..<(h * w) {
                        let (a, b) = (l[i], l[h * w + i])
                        let m = max(a, b)
                        let (ea, eb) = (expf(a - m), expf(b - m))
                        out[i] = eb / (ea + eb)
                    }
                }
            }
            let offsets = boxRegression(x)
            return (offsets.reshaped(Array(offsets.shape.dropFirst())), probabilities)
        }
    }

    struct RefineNet: Sendable {
        let blocks: [ConvolutionBlock]
        let dense: Linear
        let denseActivation: PReLU
        let heads: [Linear]

        /// [N, 3, S, S] → each head's output [N, k]; the last head is the face score (softmaxed).
        func callAsFunction(_ patches: Tensor) -> [Tensor] {
            var x = patches
            for block in blocks { x = block(x) }
            let flat = x.reshaped([x.shape[0], x.count / x.shape[0]])
            let hidden = denseActivation(dense(flat))
            return heads.enumerated().map { index, head in
                index == heads.count - 1 ? head(hidden).softmax() : head(hidden)
            }
        }
    }

    let proposal: ProposalNet
    let refine: RefineNet
    let output: RefineNet

    /// Reads the three nets from one safetensors file, strictly.
    static func load(path: String) throws(VisionModelError) -> MTCNNNetworks {
        var reader = try StrictCheckpoint(path: path, model: "MTCNN")
        let same = PoolingWindow.tensorFlowSame(kernel: (2, 2), stride: (2, 2))
        let same3 = PoolingWindow.tensorFlowSame(kernel: (3, 3), stride: (2, 2))
        let valid3 = PoolingWindow(kernel: (3, 3), stride: (2, 2))
        let proposal = ProposalNet(
            blocks: [
                try block(&reader, "pnet.conv1", "pnet.prelu1", kernel: 3, in: 3, out: 10, pool: same),
                try block(&reader, "pnet.conv2", "pnet.prelu2", kernel: 3, in: 10, out: 16, pool: nil),
                try block(&reader, "pnet.conv3", "pnet.prelu3", kernel: 3, in: 16, out: 32, pool: nil),
            ],
            boxRegression: try conv(&reader, "pnet.conv4-1", kernel: 1, in: 32, out: 4),
            faceScore: try conv(&reader, "pnet.conv4-2", kernel: 1, in: 32, out: 2))
        let refine = RefineNet(
            blocks: [
                try block(&reader, "rnet.conv1", "rnet.prelu1", kernel: 3, in: 3, out: 28, pool: same3),
                try block(&reader, "rnet.conv2", "rnet.prelu2", kernel: 3, in: 28, out: 48, pool: valid3),
                try block(&reader, "rnet.conv3", "rnet.prelu3", kernel: 2, in: 48, out: 64, pool: nil),
            ],
            dense: try flattenedDense(&reader, "rnet.fc4", channels: 64, side: 3, out: 128),
            denseActivation: PReLU(slopes: try reader.tensor("rnet.prelu4.alpha", shape: [128])),
            heads: [try dense(&reader, "rnet.fc5-1", in: 128, out: 4), try dense(&reader, "rnet.fc5-2", in: 128, out: 2)])
        let output = RefineNet(
            blocks: [
                try block(&reader, "onet.conv1", "onet.prelu1", kernel: 3, in: 3, out: 32, pool: same3),
                try block(&reader, "onet.conv2", "onet.prelu2", kernel: 3, in: 32, out: 64, pool: valid3),
                try block(&reader, "onet.conv3", "onet.prelu3", kernel: 3, in: 64, out: 64, pool: same),
                try block(&reader, "onet.conv4", "onet.prelu4", kernel: 2, in: 64, out: 128, pool: nil),
            ],
            dense: try flattenedDense(&reader, "onet.fc5", channels: 128, side: 3, out: 256),
            denseActivation: PReLU(slopes: try reader.tensor("onet.prelu5.alpha", shape: [256])),
            heads: [try dense(&reader, "onet.fc6-1", in: 256, out: 4), try dense(&reader, "onet.fc6-2", in: 256, out: 10),
                    try dense(&reader, "onet.fc6-3", in: 256, out: 2)])
        try reader.finish()
        return MTCNNNetworks(proposal: proposal, refine: refine, output: output)
    }

    private static func block(_ reader: inout StrictCheckpoint<VisionModelError>, _ convName: String, _ preluName: String,
                              kernel: Int, in inputs: Int, out: Int, pool: PoolingWindow?) throws(VisionModelError) -> ConvolutionBlock {
        ConvolutionBlock(conv: try conv(&reader, convName, kernel: kernel, in: inputs, out: out),
                         activation: PReLU(slopes: try reader.tensor("\(preluName).alpha", shape: [1, 1, out]).reshaped([out])),
                         pool: pool)
    }

    /// A Keras conv ([kh, kw, in, out]) as a PyTorch-layout one ([out, in, kh, kw]); "valid" padding.
    private static func conv(_ reader: inout StrictCheckpoint<VisionModelError>, _ name: String, kernel: Int, in inputs: Int, out: Int)
        throws(VisionModelError) -> Conv2d
    {
        let keras = try reader.tensor("\(name).kernel", shape: [kernel, kernel, inputs, out])
        return Conv2d(weight: KerasLayout.convolutionKernel(keras), bias: try reader.tensor("\(name).bias", shape: [out]))
    }

    private static func dense(_ reader: inout StrictCheckpoint<VisionModelError>, _ name: String, in inputs: Int, out: Int) throws(VisionModelError) -> Linear {
        Linear(inputMajorWeight: try reader.tensor("\(name).kernel", shape: [inputs, out]), bias: try reader.tensor("\(name).bias", shape: [out]))
    }

    /// The dense layer after Keras's permute-and-flatten, with rows reordered from (w, h, c)
    /// to NCHW's (c, h, w).
    private static func flattenedDense(_ reader: inout StrictCheckpoint<VisionModelError>, _ name: String, channels: Int, side: Int, out: Int)
        throws(VisionModelError) -> Linear
    {
        let inputs = channels * side * side
        let keras = try reader.tensor("\(name).kernel", shape: [inputs, out]).scalars
        let reordered = Tensor(shape: [inputs, out]) { weight in
            for c in 0..<channels {
                for h in 0..<side {
                    for w in 0..<side {
                        let ours = (c * side + h) * side + w, theirs = (w * side + h) * channels + c
                        for o in 0..<out { weight[ours * out + o] = keras[theirs * out + o] }
                    }
                }
            }
        }
        return Linear(inputMajorWeight: reordered, bias: try reader.tensor("\(name).bias", shape: [out]))
    }
}

/// Keras → PyTorch layout conversions, for loaders of Keras-trained checkpoints.
enum KerasLayout {
    /// [kh, kw, in, out] → [out, in, kh, kw].
    static func convolutionKernel(_ keras: Tensor) -> Tensor {
        let (kh, kw, inputs, outputs) = (keras.shape[0], keras.shape[1], keras.shape[2], keras.shape[3])
        let values = keras.scalars
        return Tensor(shape: [outputs, inputs, kh, kw]) { out in
            for i in 0..<kh {
                for j in 0..<kw {
                    for c in 0..<inputs {
                        for o in 0..<outputs { out[((o * inputs + c) * kh + i) * kw + j] = values[((i * kw + j) * inputs + c) * outputs + o] }
                    }
                }
            }
        }
    }

    /// A depthwise kernel [kh, kw, C, 1] → [C, 1, kh, kw] (groups = C).
    static func depthwiseKernel(_ keras: Tensor) -> Tensor {
        let (kh, kw, channels) = (keras.shape[0], keras.shape[1], keras.shape[2])
        let values = keras.scalars
        return Tensor(shape: [channels, 1, kh, kw]) { out in
            for i in 0..<kh {
                for j in 0..<kw {
                    for c in 0..<channels { out[(c * kh + i) * kw + j] = values[(i * kw + j) * channels + c] }
                }
            }
        }
    }
}
