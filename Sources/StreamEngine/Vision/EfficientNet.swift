import Foundation
import NeuralKit

/// EfficientNet-B0 and -B2 as timm builds them (pytorch-image-models, `timm/models/
/// efficientnet.py` `_gen_efficientnet`; blocks from `_efficientnet_blocks.py`; widths and
/// depths from `_efficientnet_builder.py`), for inference: a 3×3 stride-2 stem, seven stages of
/// depthwise-separable (stage 0) and inverted-residual blocks with squeeze-and-excitation, a
/// 1×1 head conv, global average pooling and a linear classifier; SiLU throughout. Every batch
/// norm is folded into the convolution before it at load.
///
/// Checkpoint keys (timm's `state_dict`; stage s, block b; `bnK.*` is `weight`, `bias`,
/// `running_mean`, `running_var`, `num_batches_tracked`):
///
/// | part | keys |
/// | --- | --- |
/// | stem | `conv_stem.weight` [S, 3, 3, 3], `bn1.*` |
/// | stage 0 (depthwise-separable) | `blocks.0.b.conv_dw.weight` [C, 1, 3, 3], `.bn1.*`, `.se.*`, `.conv_pw.weight` [O, C, 1, 1], `.bn2.*` |
/// | stages 1…6 (inverted residual) | `blocks.s.b.conv_pw.weight` [E, C, 1, 1], `.bn1.*`, `.conv_dw.weight` [E, 1, k, k], `.bn2.*`, `.se.*`, `.conv_pwl.weight` [O, E, 1, 1], `.bn3.*` |
/// | squeeze-excite | `….se.conv_reduce.{weight [R, E, 1, 1], bias [R]}`, `….se.conv_expand.{weight [E, R, 1, 1], bias [E]}` |
/// | head | `conv_head.weight` [F, C, 1, 1], `bn2.*` |
/// | classifier | `classifier.{weight [K, F], bias [K]}`, or `classifier.0.*` (an `nn.Sequential` head, as EmotiEffLib's 8-class models have) |
///
/// Kernel sizes, strides and block counts are the architecture's (`Architecture`); channel
/// widths are read from the tensors, so a narrower model of the same layout (the test
/// fixtures) loads with the same code. The squeeze reduces from the block's input width × 0.25
/// (timm divides the 0.25 by the expansion ratio and applies it to the expanded width).
public struct EfficientNet: Sendable {
    /// One block: the inverted residual (with `expand`) or the depthwise-separable one (without).
    struct Block: Sendable {
        /// `conv_pw` + `bn1` of an inverted residual, followed by SiLU.
        let expand: Conv2d?
        /// `conv_dw` + its norm, followed by SiLU.
        let depthwise: Conv2d
        let squeeze: SqueezeExcite
        /// `conv_pwl` + `bn3` (or a separable block's `conv_pw` + `bn2`), no activation.
        let project: Conv2d
        /// Stride 1 and as many channels out as in: the input is added back.
        let residual: Bool
    }

    /// timm's `SqueezeExcite`: the channel means through a 1×1 reduce conv, SiLU, a 1×1 expand
    /// conv and a sigmoid gate, multiplying the channels. The 1×1 convs on a [N, C] vector are
    /// linear layers (their weights reshaped at load).
    struct SqueezeExcite: Sendable {
        let reduce: Linear
        let expand: Linear

        /// The gate [N, C] from the channel means [N, C] of the block's activations.
        func gate(_ means: Tensor) -> Tensor {
            var hidden = reduce(means)
            hidden.applySiLU()
            return expand(hidden).sigmoid()
        }
    }

    public let architecture: Architecture
    let stem: Conv2d
    let blocks: [Block]
    let head: Conv2d
    let classifier: Linear

    /// Width of the pooled features the classifier reads (1280 for B0, 1408 for B2).
    public var featureCount: Int { head.outputChannels }
    /// Outputs of the classifier.
    public var outputCount: Int { classifier.outputFeatures }
    /// Blocks per stage, as loaded.
    public let stageDepths: [Int]

    /// Reads the model from `reader`, which must hold exactly its tensors (`finish()` is left
    /// to the caller, which may read more from the same file).
    init(architecture: Architecture, reader: inout StrictCheckpoint<VisionModelError>) throws(VisionModelError) {
        self.architecture = architecture
        let path = reader.path
        let epsilon = architecture.family.batchNormEpsilon
        func norm(_ name: String, _ channels: Int) throws(VisionModelError) -> BatchNorm {
            let norm = BatchNorm(weight: try reader.tensor("\(name).weight", shape: [channels]), bias: try reader.tensor("\(name).bias", shape: [channels]),
                                 runningMean: try reader.tensor("\(name).running_mean", shape: [channels]),
                                 runningVariance: try reader.tensor("\(name).running_var", shape: [channels]), epsilon: epsilon)
            reader.skip("\(name).num_batches_tracked")
            return norm
        }
        /// A bias-free convolution `conv` of `inputs` channels (its output width read from the
        /// file) folded with the batch norm `bn`.
        func convBN(_ conv: String, _ bn: String, in inputs: Int, kernel: Int, stride: Int = 1) throws(VisionModelError) -> Conv2d {
            let shape = try reader.shape("\(conv).weight")
            guard shape.count == 4, shape[0] > 0 else {
                throw .inconsistent(file: path, reason: "\(conv).weight is \(shape), expected [out, \(inputs), \(kernel), \(kernel)]")
            }
            let weight = try reader.tensor("\(conv).weight", shape: [shape[0], inputs, kernel, kernel])
            return Conv2d(weight: weight, bias: nil, geometry: architecture.family.geometry(kernel: kernel, stride: stride))
                .folding(try norm(bn, shape[0]))
        }
        func depthwise(_ conv: String, _ bn: String, channels: Int, kernel: Int, stride: Int) throws(VisionModelError) -> Conv2d {
            let weight = try reader.tensor("\(conv).weight", shape: [channels, 1, kernel, kernel])
            return Conv2d(weight: weight, bias: nil, geometry: architecture.family.geometry(kernel: kernel, stride: stride, groups: channels))
                .folding(try norm(bn, channels))
        }
        func squeeze(_ base: String, channels: Int) throws(VisionModelError) -> SqueezeExcite {
            let shape = try reader.shape("\(base).conv_reduce.weight")
            guard shape.count == 4, shape[0] > 0 else {
                throw .inconsistent(file: path, reason: "\(base).conv_reduce.weight is \(shape), expected [reduced, \(channels), 1, 1]")
            }
            let reduced = shape[0]
            // One row per image: a oneDNN primitive's fixed cost per call exceeds these
            // products' work, so they stay on OpenBLAS whatever the backend.
            return SqueezeExcite(
                reduce: Linear(weight: try reader.tensor("\(base).conv_reduce.weight", shape: [reduced, channels, 1, 1]).reshaped([reduced, channels]),
                               bias: try reader.tensor("\(base).conv_reduce.bias", shape: [reduced]), compute: .openBLAS),
                expand: Linear(weight: try reader.tensor("\(base).conv_expand.weight", shape: [channels, reduced, 1, 1]).reshaped([channels, reduced]),
                               bias: try reader.tensor("\(base).conv_expand.bias", shape: [channels]), compute: .openBLAS))
        }

        stem = try convBN("conv_stem", "bn1", in: 3, kernel: 3, stride: 2)
        var channels = stem.outputChannels
        var blocks: [Block] = []
        var depths: [Int] = []
        for (index, stage) in Architecture.stages.enumerated() {
            var depth = 0
            while reader.has("blocks.\(index).\(depth).conv_dw.weight") { depth += 1 }
            let expected = architecture.variant.depth(of: stage)
            guard depth == expected else {
                throw .inconsistent(file: path, reason: "stage \(index) has \(depth) blocks (blocks.\(index).*), \(architecture.name) has \(expected)")
            }
            depths.append(depth)
            for b in 0..<depth {
                let base = "blocks.\(index).\(b)"
                let stride = b == 0 ? stage.stride : 1
                let block: Block
                if stage.expansion == 1 {
                    let dw = try depthwise("\(base).conv_dw", "\(base).bn1", channels: channels, kernel: stage.kernel, stride: stride)
                    let se = try squeeze("\(base).se", channels: channels)
                    let pw = try convBN("\(base).conv_pw", "\(base).bn2", in: channels, kernel: 1)
                    block = Block(expand: nil, depthwise: dw, squeeze: se, project: pw, residual: stride == 1 && pw.outputChannels == channels)
                } else {
                    let expand = try convBN("\(base).conv_pw", "\(base).bn1", in: channels, kernel: 1)
                    let width = expand.outputChannels
                    let dw = try depthwise("\(base).conv_dw", "\(base).bn2", channels: width, kernel: stage.kernel, stride: stride)
                    let se = try squeeze("\(base).se", channels: width)
                    let project = try convBN("\(base).conv_pwl", "\(base).bn3", in: width, kernel: 1)
                    block = Block(expand: expand, depthwise: dw, squeeze: se, project: project,
                                  residual: stride == 1 && project.outputChannels == channels)
                }
                blocks.append(block)
                channels = block.project.outputChannels
            }
        }
        self.blocks = blocks
        stageDepths = depths
        head = try convBN("conv_head", "bn2", in: channels, kernel: 1)
        // EmotiEffLib's 8-class heads are `nn.Sequential(nn.Linear(…))`: the same layer, one level down.
        let prefix = reader.has("classifier.0.weight") && !reader.has("classifier.weight") ? "classifier.0" : "classifier"
        let classes = try reader.shape("\(prefix).weight")
        guard classes.count == 2, classes[0] > 0, classes[1] == head.outputChannels else {
            throw .inconsistent(file: path, reason: "\(prefix).weight is \(classes), expected [outputs, \(head.outputChannels)]")
        }
        classifier = Linear(weight: try reader.tensor("\(prefix).weight", shape: classes), bias: try reader.tensor("\(prefix).bias", shape: [classes[0]]))
    }

    /// [N, 3, H, W] normalised images → the pooled features [N, F] (timm's `forward_head(…,
    /// pre_logits=True)`, what EmotiEffLib calls the features) and the classifier's outputs [N, K].
    ///
    /// Each block is timm's arithmetic, regrouped so that the feature maps are read fewer
    /// times: the SiLU after the expansion conv is applied as the depthwise conv reads its
    /// input, the depthwise conv's SiLU and the squeeze's channel means in the same pass, and
    /// the excitation gate scales the projection's weight columns rather than the activations.
    public func callAsFunction(_ images: Tensor) -> (features: Tensor, outputs: Tensor) {
        if stem.compute.backend == .oneDNN { return channelsLast(images) }
        var x = stem(images)
        // The stem's SiLU is left to the first depthwise conv, unless the block's input is
        // needed activated (a residual, an expansion conv).
        var activated = false
        for block in blocks {
            if (block.residual || block.expand != nil) && !activated {
                x.applySiLU()
                activated = true
            }
            let (y, means): (Tensor, Tensor)
            if let expand = block.expand {
                (y, means) = block.depthwise.depthwise(expand(x), activatingInput: true, activatingOutput: true)
            } else {
                (y, means) = block.depthwise.depthwise(x, activatingInput: !activated, activatingOutput: true)
            }
            var z = block.project.scalingInputChannels(y, by: block.squeeze.gate(means))
            if block.residual { z.add(x) }
            x = z
            activated = true
        }
        x = head(x)
        x.applySiLU()
        let features = x.globalAvgPool2d()
        return (features, classifier(features))
    }
}

extension EfficientNet {
    /// The forward pass on oneDNN, in channels-last layout from the stem to the pooling: the
    /// layout oneDNN's AVX-512 convolutions choose, so no layer reorders its input or output
    /// (per-layer NCHW ↔ NHWC reorders made the network slower than on OpenBLAS: 25.8 ms
    /// against 23.1 ms per face, one thread). Each SiLU and residual rides on its convolution
    /// as a post-op; the squeeze's means and the gate are passes over the activations.
    func channelsLast(_ images: Tensor) -> (features: Tensor, outputs: Tensor) {
        precondition(images.rank == 4, "EfficientNet takes [N, 3, H, W], got \(images.shape)")
        var x = stem.channelsLast(images.transposed(1, 2).transposed(2, 3).contiguous(), activatingOutput: true)
        for block in blocks {
            let expanded = block.expand.map { $0.channelsLast(x, activatingOutput: true) } ?? x
            var y = block.depthwise.channelsLast(expanded, activatingOutput: true)
            y.scaleChannelsLast(by: block.squeeze.gate(y.channelsLastMeans()))
            x = block.project.channelsLast(y, adding: block.residual ? x : nil)
        }
        let features = head.channelsLast(x, activatingOutput: true).channelsLastMeans()
        return (features, classifier(features))
    }
}

private extension Tensor {
    /// The mean of each channel of [N, H, W, C] → [N, C].
    func channelsLastMeans() -> Tensor {
        let (batch, pixels, channels) = (shape[0], shape[1] * shape[2], shape[3])
        return withUnsafeBufferPointer { source in
            Tensor(shape: [batch, channels]) { out in
                out.initialize(repeating: 0)
                for n in 0..<batch {
                    let sums = out.baseAddress! + n * channels
                    for pixel in 0..<pixels {
                        let row = source.baseAddress! + (n * pixels + pixel) * channels
                        for c in 0..<channels { sums[c] += row[c] }
                    }
                    for c in 0..<channels { sums[c] /= Float(pixels) }
                }
            }
        }
    }

    /// Multiplies each channel of [N, H, W, C] by `factors` [N, C].
    mutating func scaleChannelsLast(by factors: Tensor) {
        let (batch, pixels, channels) = (shape[0], shape[1] * shape[2], shape[3])
        let gate = factors.contiguous()
        gate.withUnsafeBufferPointer { g in
            withUnsafeMutableBufferPointer { values in
                for n in 0..<batch {
                    let scale = g.baseAddress! + n * channels
                    for pixel in 0..<pixels {
                        let row = values.baseAddress! + (n * pixels + pixel) * channels
                        for c in 0..<channels { row[c] *= scale[c] }
                    }
                }
            }
        }
    }
}

extension EfficientNet {
    /// Which EfficientNet: the variant (depth and width) and the family (padding and norm ε),
    /// from timm's model name.
    public struct Architecture: Sendable, Equatable {
        public var variant: Variant
        public var family: Family

        public init(variant: Variant, family: Family) {
            self.variant = variant
            self.family = family
        }

        /// timm's name: `efficientnet_b0`, `tf_efficientnet_b2`, with or without a pretrained
        /// tag (`tf_efficientnet_b0.ns_jft_in1k`) or the older `_ns` suffix (`tf_efficientnet_b0_ns`).
        public init?(timmName: String) {
            var name = Substring(timmName.split(separator: ".", maxSplits: 1).first ?? "")
            if name.hasSuffix("_ns") { name = name.dropLast(3) }
            family = name.hasPrefix("tf_") ? .tensorFlow : .pytorch
            if family == .tensorFlow { name = name.dropFirst(3) }
            guard name.hasPrefix("efficientnet_"), let variant = Variant(rawValue: String(name.dropFirst("efficientnet_".count))) else {
                return nil
            }
            self.variant = variant
        }

        /// timm's name, without a tag.
        public var name: String { (family == .tensorFlow ? "tf_" : "") + "efficientnet_" + variant.rawValue }

        /// One stage of timm's `arch_def` for EfficientNet (`ds_r1_k3_s1_e1_c16_se0.25`, then
        /// `ir_…`): repeats, depthwise kernel, stride of its first block, expansion ratio,
        /// output channels before the width multiplier; squeeze ratio 0.25 everywhere.
        struct Stage: Sendable {
            let repeats: Int, kernel: Int, stride: Int, expansion: Int, channels: Int
        }

        static let stages: [Stage] = [
            Stage(repeats: 1, kernel: 3, stride: 1, expansion: 1, channels: 16),
            Stage(repeats: 2, kernel: 3, stride: 2, expansion: 6, channels: 24),
            Stage(repeats: 2, kernel: 5, stride: 2, expansion: 6, channels: 40),
            Stage(repeats: 3, kernel: 3, stride: 2, expansion: 6, channels: 80),
            Stage(repeats: 3, kernel: 5, stride: 1, expansion: 6, channels: 112),
            Stage(repeats: 4, kernel: 5, stride: 2, expansion: 6, channels: 192),
            Stage(repeats: 1, kernel: 3, stride: 1, expansion: 6, channels: 320),
        ]
    }

    /// The compound-scaled sizes timm builds.
    public enum Variant: String, Sendable, CaseIterable {
        case b0, b2

        /// timm's (channel multiplier, depth multiplier) for `_gen_efficientnet`.
        var multipliers: (channel: Double, depth: Double) {
            switch self {
            case .b0: return (1.0, 1.0)
            case .b2: return (1.1, 1.2)
            }
        }

        /// The resolution the variant was designed for (224, 260); EmotiEffLib's models take it.
        public var resolution: Int {
            switch self {
            case .b0: return 224
            case .b2: return 260
            }
        }

        /// Blocks in `stage`: timm's `_scale_stage_depth`, ⌈repeats · depth multiplier⌉.
        func depth(of stage: Architecture.Stage) -> Int {
            Int((Double(stage.repeats) * multipliers.depth).rounded(.up))
        }

        /// Blocks per stage.
        public var stageDepths: [Int] { Architecture.stages.map(depth(of:)) }
    }

    /// What separates timm's `efficientnet_bN` from its TensorFlow-ported `tf_efficientnet_bN`.
    public enum Family: Sendable, Equatable {
        /// `efficientnet_bN`: PyTorch-style symmetric padding ((stride − 1) + (k − 1)) / 2 on
        /// every side (`timm.layers.padding.get_padding`), batch-norm ε 1e-5.
        case pytorch
        /// `tf_efficientnet_bN` (what EmotiEffLib fine-tuned, from `tf_efficientnet_b0_ns`):
        /// TensorFlow's "SAME" (`Conv2dSame`: ⌈n / stride⌉ outputs, the odd padding after),
        /// batch-norm ε 1e-3 (`BN_EPS_TF_DEFAULT`).
        case tensorFlow

        var batchNormEpsilon: Float { self == .pytorch ? 1e-5 : 1e-3 }

        func geometry(kernel: Int, stride: Int, groups: Int = 1) -> ConvolutionGeometry {
            switch self {
            case .pytorch:
                let pad = ((stride - 1) + (kernel - 1)) / 2
                return ConvolutionGeometry(stride: (stride, stride), padding: .symmetric(pad, pad), groups: groups)
            case .tensorFlow:
                return ConvolutionGeometry(stride: (stride, stride), padding: .same, groups: groups)
            }
        }
    }
}

extension EfficientNet.Architecture {
    /// timm's `make_divisible(v, 8)`: to the nearest multiple of 8 (at least 8), one more
    /// step when rounding lost over 10 %.
    static func divisible(_ value: Double) -> Int {
        var rounded = max(8, Int(value + 4) / 8 * 8)
        if Double(rounded) < 0.9 * value { rounded += 8 }
        return rounded
    }

    /// Every tensor timm's model has, in its `state_dict` order, with its shape, for `outputs`
    /// classifier outputs and timm's widths scaled by `widthMultiplier` on top of the variant's
    /// own (the full model at 1). The loader's contract, checked against timm in the tests, and
    /// the layout of the benchmarks' random full-size models.
    public func tensorShapes(outputs: Int, widthMultiplier: Double = 1, sequentialClassifier: Bool = false) -> [(name: String, shape: [Int])] {
        let multiplier = variant.multipliers.channel * widthMultiplier
        func width(_ channels: Int) -> Int { Self.divisible(Double(channels) * multiplier) }
        var shapes: [(name: String, shape: [Int])] = []
        func conv(_ name: String, _ out: Int, _ inputs: Int, _ kernel: Int) { shapes.append(("\(name).weight", [out, inputs, kernel, kernel])) }
        func norm(_ name: String, _ channels: Int) {
            for field in ["weight", "bias", "running_mean", "running_var"] { shapes.append(("\(name).\(field)", [channels])) }
            shapes.append(("\(name).num_batches_tracked", []))
        }
        func squeeze(_ base: String, _ channels: Int, reduced: Int) {
            shapes += [("\(base).conv_reduce.weight", [reduced, channels, 1, 1]), ("\(base).conv_reduce.bias", [reduced]),
                       ("\(base).conv_expand.weight", [channels, reduced, 1, 1]), ("\(base).conv_expand.bias", [channels])]
        }
        var channels = width(32)
        conv("conv_stem", channels, 3, 3)
        norm("bn1", channels)
        for (index, stage) in Self.stages.enumerated() {
            let out = width(stage.channels)
            for b in 0..<variant.depth(of: stage) {
                let base = "blocks.\(index).\(b)"
                // timm: rd = round(expanded · 0.25 / expansion), Python's round (half to even).
                if stage.expansion == 1 {
                    conv("\(base).conv_dw", channels, 1, stage.kernel)
                    norm("\(base).bn1", channels)
                    squeeze("\(base).se", channels, reduced: Int((Double(channels) * 0.25).rounded(.toNearestOrEven)))
                    conv("\(base).conv_pw", out, channels, 1)
                    norm("\(base).bn2", out)
                } else {
                    let expanded = Self.divisible(Double(channels * stage.expansion))
                    conv("\(base).conv_pw", expanded, channels, 1)
                    norm("\(base).bn1", expanded)
                    conv("\(base).conv_dw", expanded, 1, stage.kernel)
                    norm("\(base).bn2", expanded)
                    squeeze("\(base).se", expanded, reduced: Int((Double(expanded) * 0.25 / Double(stage.expansion)).rounded(.toNearestOrEven)))
                    conv("\(base).conv_pwl", out, expanded, 1)
                    norm("\(base).bn3", out)
                }
                channels = out
            }
        }
        let features = width(1280)
        conv("conv_head", features, channels, 1)
        norm("bn2", features)
        let classifier = sequentialClassifier ? "classifier.0" : "classifier"
        shapes += [("\(classifier).weight", [outputs, features]), ("\(classifier).bias", [outputs])]
        return shapes
    }
}
