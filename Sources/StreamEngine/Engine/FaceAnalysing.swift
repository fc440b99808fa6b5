/// The engine's visual stage: what a video frame shows of the face, as the engine uses it.
/// `FacePipelineAnalyser` runs the real face pipeline; tests script their own.
public protocol FaceAnalysing: Sendable {
    /// The feature names the stage computes per face (`MX`, `RF`, `MR`: fusion inputs).
    var featureNames: [String] { get }
    /// The labels of the visual-only estimate (the first encoder's), empty without one.
    var labels: [String] { get }
    /// The name events give in `source` (`face:<name>`): the first encoder's.
    var modelName: String { get }
    /// A new session for one run of a video source (tracking state lives in it). The engine
    /// uses a session from its vision queue only, one frame at a time.
    func makeSession() -> any FaceSession
}

/// One video run's face analysis.
///
/// - Important: used from the engine's serial vision queue only, never concurrently; that
///   confinement is what lets a conformer be a plain class.
public protocol FaceSession: AnyObject, Sendable {
    /// The faces in `image`, shown at media time `time` (seconds).
    func analyze(_ image: RGBImage, time: Double) -> FrameFaces
    /// Whether there are faces whose mouths `followMouths` can follow (the engine converts a
    /// skipped frame's pixels only then).
    var followsFaces: Bool { get }
    /// In a frame the stage does not analyse (sampled out by `engine.face_fps`): the mouth
    /// opening of each followed face, by track id, for `ActiveSpeaker`. Changes nothing the
    /// next `analyze` sees.
    func followMouths(_ image: RGBImage) -> [Int: MouthOpening]
}

extension FaceSession {
    /// A session that follows no mouths between frames (the speaker is judged on analysed
    /// frames alone).
    public var followsFaces: Bool { false }
    public func followMouths(_ image: RGBImage) -> [Int: MouthOpening] { [:] }
}

/// What the engine keeps of one analysed frame.
public struct FrameFaces: Sendable, Equatable {
    /// Faces detected (or tracked) in the frame.
    public var faces: Int
    /// The primary face's embedding per feature name; empty when no usable face.
    public var encodings: [String: [Float]]
    /// The primary face's probabilities over `FaceAnalysing.labels`, when an encoder gives them.
    public var probabilities: [Float]?
    /// The primary face's box [x, y, width, height] in pixels.
    public var box: [Int]?
    /// The first encoder's valence, mapped onto merd's [-5, 5] (`VisualEstimate.merValence`),
    /// when it has a valence output.
    public var valence: Float?
    /// The first encoder's arousal, mapped onto [-5, 5] the same way, when it has one.
    public var arousal: Float?
    /// Every face analysed with its track id, the largest (primary) first; the primary's
    /// fields repeat the ones above.
    public var tracks: [Track] = []

    /// One tracked face's part of a frame.
    public struct Track: Sendable, Equatable {
        public var id: Int
        public var box: [Int]
        public var encodings: [String: [Float]]
        public var probabilities: [Float]?
        public var valence: Float?
        public var arousal: Float?
        /// The mouth opening (`MouthOpening`), nil when the landmarks did not fit.
        public var mouth: MouthOpening?

        public init(id: Int, box: [Int], encodings: [String: [Float]] = [:], probabilities: [Float]? = nil,
                    valence: Float? = nil, arousal: Float? = nil, mouth: MouthOpening? = nil) {
            self.id = id
            self.box = box
            self.encodings = encodings
            self.probabilities = probabilities
            self.valence = valence
            self.arousal = arousal
            self.mouth = mouth
        }
    }

    public init(faces: Int, encodings: [String: [Float]] = [:], probabilities: [Float]? = nil, box: [Int]? = nil,
                valence: Float? = nil, arousal: Float? = nil, tracks: [Track] = []) {
        self.faces = faces
        self.encodings = encodings
        self.probabilities = probabilities
        self.box = box
        self.valence = valence
        self.arousal = arousal
        self.tracks = tracks
    }
}

/// The face pipeline (MTCNN → landmarks → alignment → FER encoders) as the visual stage.
public struct FacePipelineAnalyser: FaceAnalysing {
    public let models: VisionModels
    public let options: FacePipeline.Options

    public init(models: VisionModels, options: FacePipeline.Options = FacePipeline.Options()) {
        self.models = models
        self.options = options
    }

    public var featureNames: [String] { models.encoders.map(\.featureName) }
    public var labels: [String] { models.encoders.first?.labels ?? [] }
    public var modelName: String { models.encoderNames.first ?? "none" }

    public func makeSession() -> any FaceSession {
        let first = models.encoders.first
        return FacePipelineSession(pipeline: models.makePipeline(options: options), primary: first?.featureName, affectScale: first?.affectScale)
    }
}

/// The face pipeline's tracking state for one video run.
///
/// - Important: `@unchecked Sendable` because the engine calls it from its serial vision
///   queue only (`FaceSession`'s contract); the pipeline is a mutable value.
final class FacePipelineSession: FaceSession, @unchecked Sendable {
    private var pipeline: FacePipeline
    private let primary: String?
    /// The primary encoder's valence and arousal scale, nil when it has neither.
    private let affectScale: ClosedRange<Float>?

    init(pipeline: FacePipeline, primary: String?, affectScale: ClosedRange<Float>?) {
        self.pipeline = pipeline
        self.primary = primary
        self.affectScale = affectScale
    }

    var followsFaces: Bool { pipeline.followsFaces }

    func followMouths(_ image: RGBImage) -> [Int: MouthOpening] { pipeline.followMouths(image) }

    func analyze(_ image: RGBImage, time: Double) -> FrameFaces {
        let analysis = pipeline.analyze(image, time: time)
        func mapped(_ value: Float?) -> Float? {
            guard let value, let affectScale else { return nil }
            return VisualEstimate.merValence(value, from: affectScale)
        }
        let tracks = analysis.faces.map { face -> FrameFaces.Track in
            let d = face.observation.detection
            let encoding = primary.flatMap { face.observation.encodings[$0] }
            return FrameFaces.Track(id: face.id, box: [d.x1, d.y1, d.width, d.height].map { Int($0.rounded()) },
                                    encodings: face.observation.encodings.mapValues(\.embedding), probabilities: encoding?.probabilities,
                                    valence: mapped(encoding?.valence), arousal: mapped(encoding?.arousal),
                                    mouth: face.observation.quality.verdict == .poorFit ? nil : MouthOpening.measure(face.observation.landmarks))
        }
        // The primary face is the largest (the first track).
        let first = tracks.first
        return FrameFaces(faces: analysis.faceCount, encodings: first?.encodings ?? [:], probabilities: first?.probabilities,
                          box: first?.box, valence: first?.valence, arousal: first?.arousal, tracks: tracks)
    }
}
