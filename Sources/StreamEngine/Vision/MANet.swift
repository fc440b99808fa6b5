import Foundation
import NeuralKit

/// MA-Net (Zhao, Liu, Wang, "Learning Deep Global Multi-scale and Local Attention Features for
/// Facial Expression Recognition in the Wild", IEEE TIP 2021) as the MER 2023 baseline runs it
/// (feature_extraction/visual/manet/model/{manet,attention}.py, trained on RAF-DB): a ResNet-18
/// stem and layer1–layer2 of basic blocks; then a local branch — the 28×28 layer2 map cut into
/// four 14×14 patches, each through its own two stages of attention blocks (basic blocks with
/// CBAM), reassembled and averaged — and a global multi-scale branch of split-and-cascade blocks;
/// each branch ends in a 512-d average and a linear classifier. Input 224×224 RGB in [0, 1], no
/// mean or deviation. The embedding is both 512-d features concatenated (1024-d, the baseline's
/// `return_embedding`); the class scores are 0.6·fc_1 + 0.4·fc_2 (its training rule, β = 0.6).
///
/// Checkpoint keys (the published `state_dict`, `module.` prefix removed by
/// `tools/convert_manet.py`; every batch norm folded into its conv at load):
///
/// | part | keys |
/// | --- | --- |
/// | stem | `conv1.weight` [64, 3, 7, 7], `bn1.*` |
/// | basic stages | `layer{1,2}.{0,1}.{conv1,bn1,conv2,bn2}`, `layer2.0.downsample.{0.weight,1.*}` |
/// | local branch p = 1…4 | `layer{3,4}_1_p{p}.{0,1}.{conv1,bn1,conv2,bn2}`, `.0.downsample.{0,1}`, `.cbam.ChannelGate.mlp.{1,3}.{weight,bias}`, `.cbam.SpatialGate.spatial.{conv.weight,bn.*}` |
/// | global branch | `layer{3,4}_2.{0,1}.{conv1,bn1}`, `.conv{1,2}_2_{1…4}`, `.bn{1,2}_2_{1…4}`, `.0.downsample.{0,1}` |
/// | heads | `fc_1.{weight,bias}`, `fc_2.{weight,bias}` [classes, 512] |
public struct MANet: FaceEncoder {
    /// A basic residual block; with `attention`, the attention block (CBAM before the sum).
    struct BasicBlock: Sendable {
        let conv1: Conv2d, conv2: Conv2d
        let downsample: Conv2d?
        let attention: CBAM?

        func callAsFunction(_ x: Tensor) -> Tensor {
            var out = conv2(conv1(x).relu())
            if let attention { out = attention(out) }
            return out.adding(downsample.map { $0(x) } ?? x).relu()
        }
    }

    /// Convolutional block attention (Woo et al. 2018): a channel gate from average- and
    /// max-pooled features through one MLP, then a spatial gate from a 7×7 conv over the
    /// channel max and mean.
    struct CBAM: Sendable {
        let hidden: Linear, output: Linear
        let spatial: Conv2d

        func callAsFunction(_ x: Tensor) -> Tensor {
            let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let plane = h * w
            let values = x.contiguous()
            let pooled = values.withUnsafeBufferPointer { v in
                Tensor(shape: [2 * n, c]) { out in
                    for b in 0..<n {
                        for k in 0..<c {
                            let p = v.baseAddress! + (b * c + k) * plane
                            var sum: Float = 0, largest = -Float.infinity
                            for i in 0..<plane { sum += p[i]; largest = max(largest, p[i]) }
                            out[b * c + k] = sum / Float(plane)
                            out[(n + b) * c + k] = largest
                        }
                    }
                }
            }
            let raw = output(hidden(pooled).relu()).scalars  // [avg rows; max rows]
            let channelGated = values.withUnsafeBufferPointer { v in
                Tensor(shape: x.shape) { out in
                    for b in 0..<n {
                        for k in 0..<c {
                            let gate = 1 / (1 + expf(-(raw[b * c + k] + raw[(n + b) * c + k])))
                            let base = (b * c + k) * plane
                            for i in 0..<plane { out[base + i] = v[base + i] * gate }
                        }
                    }
                }
            }
            let compressed = channelGated.withUnsafeBufferPointer { v in
                Tensor(shape: [n, 2, h, w]) { out in
                    for b in 0..<n {
                        for i in 0..<plane {
                            var largest = -Float.infinity, sum: Float = 0
                            for k in 0..<c {
                                let value = v[(b * c + k) * plane + i]
                                largest = max(largest, value)
                                sum += value
                            }
                            out[(b * 2) * plane + i] = largest
                            out[(b * 2 + 1) * plane + i] = sum / Float(c)
                        }
                    }
                }
            }
            let logits = spatial(compressed).scalars
            return channelGated.withUnsafeBufferPointer { v in
                Tensor(shape: x.shape) { out in
                    for b in 0..<n {
                        for i in 0..<plane {
                            let gate = 1 / (1 + expf(-logits[b * plane + i]))
                            for k in 0..<c { out[(b * c + k) * plane + i] = v[(b * c + k) * plane + i] * gate }
                        }
                    }
                }
            }
        }
    }

    /// The multi-scale block: a 3×3 conv, the result split into four channel groups, each of two
    /// paths running a cascade of 3×3 convs (group i sees group i plus the previous output),
    /// the two paths summed, plus the shortcut.
    struct MultiScaleBlock: Sendable {
        let conv1: Conv2d
        let paths: [[Conv2d]]  // two paths of four convs
        let downsample: Conv2d?

        func callAsFunction(_ x: Tensor) -> Tensor {
            let out = conv1(x).relu()
            let (n, c, h, w) = (out.shape[0], out.shape[1], out.shape[2], out.shape[3])
            let width = c / 4
            let groups = (0..<4).map { MANet.channels(out, from: width * $0, count: width) }
            var sum: Tensor?
            for path in paths {
                var outputs: [Tensor] = []
                var previous: Tensor?
                for (i, conv) in path.enumerated() {
                    let input = previous.map { $0.relu().adding(groups[i]) } ?? groups[i]
                    let y = conv(input)
                    outputs.append(y)
                    previous = y
                }
                let joined = MANet.concatenateChannels(outputs, batch: n, height: h, width: w)
                sum = sum.map { $0.adding(joined) } ?? joined
            }
            return sum!.adding(downsample.map { $0(x) } ?? x).relu()
        }
    }

    let stem: Conv2d
    let basic: [BasicBlock]
    /// Per patch (top-left, top-right, bottom-left, bottom-right), its layer3 and layer4 blocks.
    let local: [[BasicBlock]]
    let global: [MultiScaleBlock]
    let localHead: Linear
    let globalHead: Linear

    /// The fusion input its embedding is (`KnownFaceEncoder` lists it without loading it).
    public static let featureName = "MR"
    public var featureName: String { Self.featureName }
    public let inputSize = 224
    /// RAF-DB's aligned faces: the face with a little of the head around it.
    public let cropMargin = 0.15
    /// RAF-DB's basic classes, in the order of the training folders 0…6.
    public let labels = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
    public let embeddingSize = 1024
    /// fc_1's share of the class scores (the baseline's β).
    static let localWeight: Float = 0.6

    public init(path: String) throws(VisionModelError) {
        var reader = try StrictCheckpoint(path: path, model: "MA-Net")
        func convBN(_ conv: String, _ bn: String, in inputs: Int, stride: Int = 1, padding: Int) throws(VisionModelError) -> Conv2d {
            let shape = try reader.shape("\(conv).weight")
            guard shape.count == 4, shape[1] == inputs else {
                throw .inconsistent(file: reader.path, reason: "\(conv).weight is \(shape), expected [out, \(inputs), k, k]")
            }
            let out = shape[0]
            let norm = BatchNorm(weight: try reader.tensor("\(bn).weight", shape: [out]), bias: try reader.tensor("\(bn).bias", shape: [out]),
                                 runningMean: try reader.tensor("\(bn).running_mean", shape: [out]),
                                 runningVariance: try reader.tensor("\(bn).running_var", shape: [out]))
            reader.skip("\(bn).num_batches_tracked")
            return Conv2d(weight: try reader.tensor("\(conv).weight", shape: shape), bias: nil,
                          geometry: .init(stride: (stride, stride), padding: .symmetric(padding, padding))).folding(norm)
        }
        func downsample(_ base: String, in inputs: Int, stride: Int) throws(VisionModelError) -> Conv2d? {
            guard reader.has("\(base).downsample.0.weight") else { return nil }
            return try convBN("\(base).downsample.0", "\(base).downsample.1", in: inputs, stride: stride, padding: 0)
        }
        func basicBlock(_ base: String, in inputs: Int, stride: Int, attention: Bool) throws(VisionModelError) -> BasicBlock {
            let conv1 = try convBN("\(base).conv1", "\(base).bn1", in: inputs, stride: stride, padding: 1)
            let conv2 = try convBN("\(base).conv2", "\(base).bn2", in: conv1.outputChannels, padding: 1)
            var cbam: CBAM?
            if attention {
                let gate = "\(base).cbam.ChannelGate.mlp"
                let channels = conv2.outputChannels
                let reduced = try reader.shape("\(gate).1.weight").first ?? 0
                cbam = CBAM(
                    hidden: Linear(weight: try reader.tensor("\(gate).1.weight", shape: [reduced, channels]), bias: try reader.tensor("\(gate).1.bias", shape: [reduced])),
                    output: Linear(weight: try reader.tensor("\(gate).3.weight", shape: [channels, reduced]), bias: try reader.tensor("\(gate).3.bias", shape: [channels])),
                    spatial: try convBN("\(base).cbam.SpatialGate.spatial.conv", "\(base).cbam.SpatialGate.spatial.bn", in: 2, padding: 3))
            }
            let shortcut = try downsample(base, in: inputs, stride: stride)
            guard shortcut != nil || (inputs == conv2.outputChannels && stride == 1) else {
                throw .inconsistent(file: reader.path, reason: "\(base) changes shape but has no downsample")
            }
            return BasicBlock(conv1: conv1, conv2: conv2, downsample: shortcut, attention: cbam)
        }
        func multiScaleBlock(_ base: String, in inputs: Int, stride: Int) throws(VisionModelError) -> MultiScaleBlock {
            let conv1 = try convBN("\(base).conv1", "\(base).bn1", in: inputs, stride: stride, padding: 1)
            let width = conv1.outputChannels / 4
            var paths: [[Conv2d]] = []
            for path in 1...2 {
                var convs: [Conv2d] = []
                for i in 1...4 { convs.append(try convBN("\(base).conv\(path)_2_\(i)", "\(base).bn\(path)_2_\(i)", in: width, padding: 1)) }
                paths.append(convs)
            }
            return MultiScaleBlock(conv1: conv1, paths: paths, downsample: try downsample(base, in: inputs, stride: stride))
        }

        stem = try convBN("conv1", "bn1", in: 3, stride: 2, padding: 3)
        var channels = stem.outputChannels
        var basic: [BasicBlock] = []
        for (layer, stride) in [(1, 1), (2, 2)] {
            for block in 0..<2 {
                let b = try basicBlock("layer\(layer).\(block)", in: channels, stride: block == 0 ? stride : 1, attention: false)
                basic.append(b)
                channels = b.conv2.outputChannels
            }
        }
        self.basic = basic
        let branchInput = channels
        var local: [[BasicBlock]] = []
        var localWidth = 0
        for patch in 1...4 {
            var blocks: [BasicBlock] = []
            var c = branchInput
            for (layer, stride) in [(3, 2), (4, 1)] {
                for block in 0..<2 {
                    let b = try basicBlock("layer\(layer)_1_p\(patch).\(block)", in: c, stride: block == 0 ? stride : 1, attention: true)
                    blocks.append(b)
                    c = b.conv2.outputChannels
                }
            }
            local.append(blocks)
            localWidth = c
        }
        self.local = local
        var global: [MultiScaleBlock] = []
        channels = branchInput
        for (layer, stride) in [(3, 2), (4, 2)] {
            for block in 0..<2 {
                let b = try multiScaleBlock("layer\(layer)_2.\(block)", in: channels, stride: block == 0 ? stride : 1)
                global.append(b)
                channels = b.conv1.outputChannels
            }
        }
        self.global = global
        let classes = try reader.shape("fc_1.weight").first ?? 0
        localHead = Linear(weight: try reader.tensor("fc_1.weight", shape: [classes, localWidth]), bias: try reader.tensor("fc_1.bias", shape: [classes]))
        globalHead = Linear(weight: try reader.tensor("fc_2.weight", shape: [classes, channels]), bias: try reader.tensor("fc_2.bias", shape: [classes]))
        try reader.finish()
    }

    /// ToTensor of a 224×224 RGB crop: values / 255, planar.
    public func encode(_ face: AlignedFace) -> FaceEncoding {
        precondition(face.size == inputSize, "MA-Net reads \(inputSize)×\(inputSize) faces, got \(face.size)")
        let plane = face.size * face.size
        let input = Tensor(shape: [1, 3, face.size, face.size]) { x in
            for i in 0..<plane { for c in 0..<3 { x[c * plane + i] = face.rgb[3 * i + c] / 255 } }
        }
        let outputs = forward(input)
        return FaceEncoding(embedding: outputs.embedding.scalars, probabilities: outputs.scores.softmax().scalars)
    }

    /// The embedding [N, 1024] (local then global feature), and the class scores [N, classes].
    func forward(_ input: Tensor) -> (embedding: Tensor, scores: Tensor) {
        var x = stem(input).relu().maxPool2d(PoolingWindow(kernel: (3, 3), stride: (2, 2), padding: (1, 1)))
        for block in basic { x = block(x) }
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (halfH, halfW) = (h / 2, w / 2)
        // The four patches, p1 top-left … p4 bottom-right, each through its own blocks, then
        // averaged: the mean of the reassembled map is the mean over the four patch outputs.
        var localFeature: Tensor?
        var patchArea = 0, totalArea = 0
        for (index, blocks) in local.enumerated() {
            var patch = Self.window(x, top: (index / 2) * halfH, left: (index % 2) * halfW, height: halfH, width: halfW)
            for block in blocks { patch = block(patch) }
            patchArea = patch.shape[2] * patch.shape[3]
            totalArea += patchArea
            let sums = patch.globalAvgPool2d().scaled(by: Float(patchArea))
            localFeature = localFeature.map { $0.adding(sums) } ?? sums
        }
        let localEmbedding = localFeature!.scaled(by: 1 / Float(totalArea))
        var y = x
        for block in global { y = block(y) }
        let globalEmbedding = y.globalAvgPool2d()
        let scores = localHead(localEmbedding).scaled(by: Self.localWeight)
            .adding(globalHead(globalEmbedding).scaled(by: 1 - Self.localWeight))
        let embedding = Tensor(shape: [n, localEmbedding.shape[1] + globalEmbedding.shape[1]]) { out in
            let (a, b) = (localEmbedding.scalars, globalEmbedding.scalars)
            let (la, lb) = (localEmbedding.shape[1], globalEmbedding.shape[1])
            for r in 0..<n {
                for i in 0..<la { out[r * (la + lb) + i] = a[r * la + i] }
                for i in 0..<lb { out[r * (la + lb) + la + i] = b[r * lb + i] }
            }
        }
        return (embedding, scores)
    }

    /// x[:, :, top..<top+height, left..<left+width].
    static func window(_ x: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let v = x.contiguous().scalars
        return Tensor(shape: [n, c, height, width]) { out in
            for plane in 0..<(n * c) {
                for y in 0..<height {
                    for i in 0..<width { out[(plane * height + y) * width + i] = v[(plane * h + top + y) * w + left + i] }
                }
            }
        }
    }

    /// Channels [from, from + count) of [N, C, H, W].
    static func channels(_ x: Tensor, from: Int, count: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let v = x.contiguous().scalars
        let plane = h * w
        return Tensor(shape: [n, count, h, w]) { out in
            for b in 0..<n {
                for k in 0..<count {
                    for i in 0..<plane { out[(b * count + k) * plane + i] = v[(b * c + from + k) * plane + i] }
                }
            }
        }
    }

    /// [N, Cᵢ, H, W] tensors side by side along channels.
    static func concatenateChannels(_ parts: [Tensor], batch n: Int, height h: Int, width w: Int) -> Tensor {
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        let plane = h * w
        return Tensor(shape: [n, total, h, w]) { out in
            var offset = 0
            for part in parts {
                let c = part.shape[1]
                let v = part.contiguous().scalars
                for b in 0..<n {
                    for k in 0..<c {
                        for i in 0..<plane { out[(b * total + offset + k) * plane + i] = v[(b * c + k) * plane + i] }
                    }
                }
                offset += c
            }
        }
    }
}
