/// The stages an engine runs, each optional but the segmenter: without a speech stage
/// utterances carry no speech features, without a face stage there is no face path, without
/// a fusion stage (or one missing inputs it cannot do without) `emotion` and `valence` are
/// null. Nothing is invented.
public struct EngineStages: Sendable {
    /// A fresh segmenter for each run of an audio source.
    public var makeSegmenter: @Sendable () -> any UtteranceSegmenting
    public var speech: (any SpeechEncoding)?
    public var faces: (any FaceAnalysing)?
    public var fusion: (any FusionDecoding)?
    /// Valence and arousal from the voice (a pretrained speech-emotion model).
    public var speechAffect: (any SpeechAffectEstimating)?

    public init(makeSegmenter: @escaping @Sendable () -> any UtteranceSegmenting,
                speech: (any SpeechEncoding)?, faces: (any FaceAnalysing)?, fusion: (any FusionDecoding)?,
                speechAffect: (any SpeechAffectEstimating)? = nil) {
        self.makeSegmenter = makeSegmenter
        self.speech = speech
        self.faces = faces
        self.fusion = fusion
        self.speechAffect = speechAffect
    }

    /// The real stages over loaded models, as `configuration` sets them up.
    /// - Parameter voiceDetector: Silero VAD finds speech when given, else the energy detector.
    public init(hubert: HuBERT?, fusion: FusionEnsemble?, vision: VisionModels?, configuration: EngineConfiguration,
                speechAffect: (any SpeechAffectEstimating)? = nil, voiceDetector: SileroVAD? = nil) {
        self.init(makeSegmenter: Self.segmenters(voiceDetector: voiceDetector, parameters: configuration.segmenter),
                  speech: hubert.map { HuBERTSpeechEncoder(model: $0, layers: configuration.layers, windowing: configuration.windowing) },
                  faces: vision.map { FacePipelineAnalyser(models: $0, options: configuration.facePipeline) },
                  fusion: fusion, speechAffect: speechAffect)
    }

    /// Fresh segmenters: Silero VAD's when there is a model, else the energy detector's.
    public static func segmenters(voiceDetector: SileroVAD?, parameters: SegmenterParameters) -> @Sendable () -> any UtteranceSegmenting {
        if let voiceDetector { return { SileroSegmenter(model: voiceDetector, parameters: parameters) } }
        return { EnergySegmenter(parameters: parameters) }
    }

    /// The label order of the events.
    public var labels: [String] { fusion?.labels ?? FusionArchitecture.merLabels }

    /// The inputs these stages compute: `HL<k>` with a speech stage, each face encoder's
    /// feature with a face stage.
    public var availableInputs: Set<String> {
        var names = Set<String>()
        if let speech { names.formUnion(speech.layers.map { FeatureName.speechLayer($0).description }) }
        if let faces { names.formUnion(faces.featureNames) }
        return names
    }

    /// Whether the fusion stage can run on what the other stages compute (all its inputs, or
    /// all but one modality when it was trained to do without one).
    public var fusionUsable: Bool { fusion.map(canRun) ?? false }

    /// Whether `fusion` can run on what these stages compute (as ``fusionUsable``).
    public func canRun(_ fusion: any FusionDecoding) -> Bool {
        let missing = missingInputs(of: fusion)
        return missing.isEmpty || (fusion.decodesWithMissingModality && Self.oneModality(missing.map(\.name), of: fusion.inputs))
    }

    /// The inputs `fusion` reads that these stages do not compute.
    public func missingInputs(of fusion: any FusionDecoding) -> [FusionInput] {
        fusion.inputs.filter { !availableInputs.contains($0.name) }
    }

    /// Whether `missing` is exactly one whole modality of `inputs`.
    static func oneModality(_ missing: [String], of inputs: [FusionInput]) -> Bool {
        let speech = inputs.filter { $0.feature?.modality == .speech }.map(\.name)
        let visual = inputs.filter { $0.feature?.modality == .visual }.map(\.name)
        return !speech.isEmpty && !visual.isEmpty && (Set(missing) == Set(speech) || Set(missing) == Set(visual))
    }
}
