import NeuralKit

/// ResNet-50 in the layout of `resnet50_ferplus_dag` (Albanie's MatConvNet port, trained on
/// FER+; the MER 2023 baseline's "ResNet-FER2013", feature_extraction/visual/pytorch-benchmarks/
/// model/resnet50_ferplus_dag.py): Caffe-style bottlenecks whose stride sits on the first 1×1
/// conv, a ceil-mode max pool in the stem, a 7×7 average pool, and a 1×1 conv classifier over
/// FER+'s eight classes. Input 224×224 RGB, 0…255 minus the mean [131.0912, 103.8827, 91.4953].
///
/// Checkpoint keys (the PyTorch state_dict of that module, converted to safetensors):
///
/// | part | keys |
/// | --- | --- |
/// | stem | `conv1_7x7_s2.weight` [64, 3, 7, 7], `conv1_7x7_s2_bn.{weight,bias,running_mean,running_var}` |
/// | stage s = 2…5, block b | `conv{s}_{b}_1x1_reduce`, `conv{s}_{b}_3x3`, `conv{s}_{b}_1x1_increase`, each `.weight` and `_bn.*` |
/// | shortcut (b = 1) | `conv{s}_1_1x1_proj.weight`, `conv{s}_1_1x1_proj_bn.*` |
/// | classifier | `classifier.weight` [8, 2048, 1, 1], `classifier.bias` |
///
/// Widths are read from the tensors, so a narrower model of the same layout (the test
/// fixture) loads with the same code; the block counts are ResNet-50's, 3-4-6-3.
public struct ResNet50FER: FaceEncoder {
    struct Bottleneck: Sendable {
        let reduce: Conv2d, spatial: Conv2d, increase: Conv2d
        let projection: Conv2d?
    }

    let stem: Conv2d
    let blocks: [Bottleneck]
    let classifier: Conv2d
    /// Per-channel pixel mean (R, G, B) the MatConvNet model subtracts.
    public static let mean: [Float] = [131.0912, 103.8827, 91.4953]

    /// The fusion input its embedding is (`KnownFaceEncoder` lists it without loading it).
    public static let featureName = "RF"
    public var featureName: String { Self.featureName }
    public let inputSize = 224
    /// The baseline resizes a face crop to 256 and cuts the central 224: 1/8 of the crop is margin.
    public let cropMargin = 0.2
    /// FER+'s classes, in the classifier's order.
    public let labels = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
    public var embeddingSize: Int { classifier.inputChannels }

    public init(path: String) throws(VisionModelError) {
        var reader = try StrictCheckpoint(path: path, model: "ResNet-50 FER+")
        func convBN(_ name: String, stride: Int = 1, padding: Int = 0, in inputs: Int) throws(VisionModelError) -> Conv2d {
            let shape = try reader.shape("\(name).weight")
            guard shape.count == 4, shape[1] == inputs else {
                throw .inconsistent(file: reader.path, reason: "\(name).weight is \(shape), expected [out, \(inputs), k, k]")
            }
            let out = shape[0]
            let weight = try reader.tensor("\(name).weight", shape: shape)
            let bn = "\(name)_bn"
            let norm = BatchNorm(weight: try reader.tensor("\(bn).weight", shape: [out]), bias: try reader.tensor("\(bn).bias", shape: [out]),
                                 runningMean: try reader.tensor("\(bn).running_mean", shape: [out]),
                                 runningVariance: try reader.tensor("\(bn).running_var", shape: [out]))
            reader.skip("\(bn).num_batches_tracked")
            return Conv2d(weight: weight, bias: nil, geometry: .init(stride: (stride, stride), padding: .symmetric(padding, padding)))
                .folding(norm)
        }
        stem = try convBN("conv1_7x7_s2", stride: 2, padding: 3, in: 3)
        var blocks: [Bottleneck] = []
        var channels = stem.outputChannels
        for (stage, count) in zip(2...5, [3, 4, 6, 3]) {
            for block in 1...count {
                let base = "conv\(stage)_\(block)"
                let stride = block == 1 && stage > 2 ? 2 : 1
                let reduce = try convBN("\(base)_1x1_reduce", stride: stride, in: channels)
                let spatial = try convBN("\(base)_3x3", padding: 1, in: reduce.outputChannels)
                let increase = try convBN("\(base)_1x1_increase", in: spatial.outputChannels)
                let projection = block == 1 ? try convBN("\(base)_1x1_proj", stride: stride, in: channels) : nil
                if let projection, projection.outputChannels != increase.outputChannels {
                    throw .inconsistent(file: reader.path, reason: "\(base): shortcut gives \(projection.outputChannels) channels, the block \(increase.outputChannels)")
                }
                if projection == nil && increase.outputChannels != channels {
                    throw .inconsistent(file: reader.path, reason: "\(base): identity shortcut of \(channels) channels onto \(increase.outputChannels)")
                }
                blocks.append(Bottleneck(reduce: reduce, spatial: spatial, increase: increase, projection: projection))
                channels = increase.outputChannels
            }
        }
        self.blocks = blocks
        let classes = try reader.shape("classifier.weight")
        guard classes.count == 4, classes[1] == channels, classes[2] == 1, classes[3] == 1 else {
            throw .inconsistent(file: reader.path, reason: "classifier.weight is \(classes), expected [classes, \(channels), 1, 1]")
        }
        classifier = Conv2d(weight: try reader.tensor("classifier.weight", shape: classes),
                            bias: try reader.tensor("classifier.bias", shape: [classes[0]]))
        try reader.finish()
    }

    public func encode(_ face: AlignedFace) -> FaceEncoding {
        precondition(face.size == inputSize, "ResNet-50 FER reads \(inputSize)×\(inputSize) faces, got \(face.size)")
        let input = Tensor(shape: [1, 3, face.size, face.size]) { x in
            let plane = face.size * face.size
            for i in 0..<plane {
                for c in 0..<3 { x[c * plane + i] = face.rgb[3 * i + c] - Self.mean[c] }
            }
        }
        let outputs = forward(input)
        return FaceEncoding(embedding: outputs.pooled.scalars, probabilities: outputs.logits.softmax().scalars)
    }

    /// pool5 [N, 2048] (the embedding), the average of `conv5_3_3x3_relu` [N, 512] (the
    /// MER 2023 baseline extractor's default layer, kept for comparison) and the logits [N, 8].
    func forward(_ input: Tensor) -> (pooled: Tensor, lastSpatial: Tensor, logits: Tensor) {
        var x = stem(input).relu().maxPool2d(PoolingWindow(kernel: (3, 3), stride: (2, 2), ceilMode: true))
        var lastSpatial = x
        for block in blocks {
            let reduced = block.reduce(x).relu()
            let spatial = block.spatial(reduced).relu()
            lastSpatial = spatial
            let shortcut = block.projection.map { $0(x) } ?? x
            x = block.increase(spatial).adding(shortcut).relu()
        }
        // pool5_7x7_s1: a 7×7 average over the 7×7 map of a 224 input, i.e. the global mean.
        let pooled = x.globalAvgPool2d()
        let (n, c) = (pooled.shape[0], pooled.shape[1])
        let logits = classifier(pooled.reshaped([n, c, 1, 1])).reshaped([n, classifier.outputChannels])
        return (pooled, lastSpatial.globalAvgPool2d(), logits)
    }
}
