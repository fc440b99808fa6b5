import NeuralKit
import StreamEngine

/// Full-size face encoders with random weights, in their checkpoints' layouts: what the face
/// benchmark times when `resnet50-ferplus` or `manet-rafdb` is not installed.
package enum RandomFaceEncoders {
    /// MA-Net at full width (the `manet-rafdb` layout).
    package static func maNet() throws(BenchmarkError) -> MANet {
        var c = RandomCheckpoint()
        c.conv("conv1", 64, 3, 7, norm: "bn1")
        func basic(_ base: String, _ inputs: Int, _ out: Int, attention: Bool) {
            c.conv("\(base).conv1", out, inputs, 3, norm: "\(base).bn1")
            c.conv("\(base).conv2", out, out, 3, norm: "\(base).bn2")
            if inputs != out {
                c.conv("\(base).downsample.0", out, inputs, 1, norm: "\(base).downsample.1")
            }
            if attention {
                c.linear("\(base).cbam.ChannelGate.mlp.1", out / 16, out)
                c.linear("\(base).cbam.ChannelGate.mlp.3", out, out / 16)
                c.conv("\(base).cbam.SpatialGate.spatial.conv", 1, 2, 7, norm: "\(base).cbam.SpatialGate.spatial.bn")
            }
        }
        basic("layer1.0", 64, 64, attention: false)
        basic("layer1.1", 64, 64, attention: false)
        basic("layer2.0", 64, 128, attention: false)
        basic("layer2.1", 128, 128, attention: false)
        for p in 1...4 {
            basic("layer3_1_p\(p).0", 128, 256, attention: true)
            basic("layer3_1_p\(p).1", 256, 256, attention: true)
            basic("layer4_1_p\(p).0", 256, 512, attention: true)
            basic("layer4_1_p\(p).1", 512, 512, attention: true)
        }
        for (layer, inputs, out) in [(3, 128, 256), (4, 256, 512)] {
            for block in 0..<2 {
                let base = "layer\(layer)_2.\(block)"
                let cin = block == 0 ? inputs : out
                c.conv("\(base).conv1", out, cin, 3, norm: "\(base).bn1")
                for path in 1...2 { for i in 1...4 { c.conv("\(base).conv\(path)_2_\(i)", out / 4, out / 4, 3, norm: "\(base).bn\(path)_2_\(i)") } }
                if block == 0 { c.conv("\(base).downsample.0", out, cin, 1, norm: "\(base).downsample.1") }
            }
        }
        c.linear("fc_1", 7, 512)
        c.linear("fc_2", 7, 512)
        return try c.loaded { try MANet(path: $0) }
    }

    /// EmotiEffLib's `enet_b0_8_va_mtl` layout: timm's `tf_efficientnet_b0`, ten outputs.
    package static func emotiEffLibB0() throws(BenchmarkError) -> EmotiEffLibEncoder {
        try emotiEffLibB0(loadedWith: [.current])[0]
    }

    /// One random B0, loaded once per compute choice: the same weights on each, so that
    /// their outputs can be compared.
    package static func emotiEffLibB0(loadedWith computes: [Compute]) throws(BenchmarkError) -> [EmotiEffLibEncoder] {
        let architecture = EfficientNet.Architecture(variant: .b0, family: .tensorFlow)
        var c = RandomCheckpoint()
        for (name, shape) in architecture.tensorShapes(outputs: 10) where !name.hasSuffix("num_batches_tracked") {
            c.random(name, shape: shape)
        }
        let configuration = TimmConfiguration(
            architecture: architecture.name, classCount: 10, featureCount: 1280,
            labelNames: EmotiEffLibEncoder.affectNetLabels + ["valence", "arousal"],
            preprocessing: .init(inputSize: [3, 224, 224], mean: [0.485, 0.456, 0.406], standardDeviation: [0.229, 0.224, 0.225],
                                 interpolation: "bilinear", cropFraction: 1))
        return try c.loaded { path in
            try computes.map { compute in
                try Compute.withSettings(compute) { try EmotiEffLibEncoder(path: path, configuration: configuration, featureName: "EN") }
            }
        }
    }

    /// ResNet-50 of resnet50_ferplus_dag's layout.
    package static func resNet50() throws(BenchmarkError) -> ResNet50FER {
        var c = RandomCheckpoint()
        func conv(_ name: String, _ out: Int, _ inputs: Int, _ k: Int) { c.conv(name, out, inputs, k, norm: name + "_bn") }
        conv("conv1_7x7_s2", 64, 3, 7)
        var channels = 64
        for (stage, (width, count)) in zip(2...5, zip([64, 128, 256, 512], [3, 4, 6, 3])) {
            for block in 1...count {
                let base = "conv\(stage)_\(block)"
                conv("\(base)_1x1_reduce", width, channels, 1)
                conv("\(base)_3x3", width, width, 3)
                conv("\(base)_1x1_increase", 4 * width, width, 1)
                if block == 1 { conv("\(base)_1x1_proj", 4 * width, channels, 1) }
                channels = 4 * width
            }
        }
        c.tensors.append(("classifier.weight", Tensor(shape: [8, 2048, 1, 1], repeating: 0.01)))
        c.tensors.append(("classifier.bias", Tensor(shape: [8])))
        return try c.loaded { try ResNet50FER(path: $0) }
    }
}
