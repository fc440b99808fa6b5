/// A timm model's `config.json`, as `timm.models.push_to_hf_hub` and `save_config_for_hf`
/// write it (pytorch-image-models, `timm/models/_hub.py`): the architecture's name, the
/// classifier's outputs and their names, and the preprocessing (`pretrained_cfg`).
public struct TimmConfiguration: Codable, Sendable, Equatable {
    /// timm's model name (`tf_efficientnet_b0`, `efficientnet_b2.ra_in1k`, …).
    public var architecture: String
    /// Outputs of the classifier.
    public var classCount: Int
    /// Width of the pooled features before the classifier (informational in timm).
    public var featureCount: Int?
    /// One name per classifier output, in its order.
    public var labelNames: [String]?
    public var preprocessing: Preprocessing

    /// `pretrained_cfg`'s input fields.
    public struct Preprocessing: Codable, Sendable, Equatable {
        /// [channels, height, width].
        public var inputSize: [Int]
        /// Per-channel mean and deviation after scaling to [0, 1] (ToTensor, Normalize).
        public var mean: [Float]
        public var standardDeviation: [Float]
        /// The resize filter (`bilinear`, `bicubic`).
        public var interpolation: String?
        /// The fraction of the resized image kept by a centre crop (1: none).
        public var cropFraction: Double?

        public init(inputSize: [Int], mean: [Float], standardDeviation: [Float], interpolation: String? = nil, cropFraction: Double? = nil) {
            self.inputSize = inputSize
            self.mean = mean
            self.standardDeviation = standardDeviation
            self.interpolation = interpolation
            self.cropFraction = cropFraction
        }

        enum CodingKeys: String, CodingKey {
            case inputSize = "input_size"
            case mean
            case standardDeviation = "std"
            case interpolation
            case cropFraction = "crop_pct"
        }
    }

    public init(architecture: String, classCount: Int, featureCount: Int? = nil, labelNames: [String]? = nil, preprocessing: Preprocessing) {
        self.architecture = architecture
        self.classCount = classCount
        self.featureCount = featureCount
        self.labelNames = labelNames
        self.preprocessing = preprocessing
    }

    enum CodingKeys: String, CodingKey {
        case architecture
        case classCount = "num_classes"
        case featureCount = "num_features"
        case labelNames = "label_names"
        case preprocessing = "pretrained_cfg"
    }
}
