/// One face in one frame, as far as the pipeline got with it.
public struct FaceObservation: Sendable {
    /// The detector's box, score and keypoints (refreshed by O-Net when the face was tracked).
    public var detection: DetectedFace
    /// The rectangle the landmark model was run in.
    public var rectangle: FaceRectangle
    /// 68 landmarks in image pixels.
    public var landmarks: [Point2D]
    public var quality: FaceQuality
    /// Per encoder feature name (`MX`, `RF`, …); empty when the quality verdict was not good:
    /// a bad crop is reported, not encoded.
    public var encodings: [String: FaceEncoding]
}

/// What the pipeline saw in one frame.
public struct FaceAnalysis: Sendable {
    /// The faces found; up to `Options.maximumFaces` of them (the largest) are landmarked and
    /// encoded.
    public var faceCount: Int
    /// The largest face analysed.
    public var primary: FaceObservation?
    /// Whether the faces were followed from the previous frame instead of detected anew.
    public var tracked: Bool
    /// Every face analysed with its track id (`FaceTracker`), the largest first.
    public var faces: [TrackedFace] = []
}

/// One analysed face and the track it belongs to.
public struct TrackedFace: Sendable {
    public var id: Int
    public var observation: FaceObservation
}

/// Per frame: find the face (MTCNN, or O-Net on the previous frame's face while tracking), place
/// 68 landmarks (dlib's regression trees), judge the pose, align, and run each FER encoder on
/// its crop (aligned, or the detector's box for encoders trained on box crops). Keeps the tracking state between frames, so one pipeline serves one video stream.
public struct FacePipeline: Sendable {
    /// How the pipeline trades detection work against latency.
    public struct Options: Sendable, Equatable {
        /// Smallest face to detect as a fraction of the frame height (at least MTCNN's 20 px).
        /// A webcam user's face fills a good part of the frame; a high floor prunes the pyramid.
        public var minimumFaceFraction: Double = 1.0 / 8
        /// While tracking, run the full detector every this many frames anyway (new or closer faces).
        public var redetectInterval: Int = 15
        /// Track from frame to frame (O-Net on the last face) instead of detecting every frame.
        public var tracking: Bool = true
        /// Faces landmarked and encoded per frame, the largest first (each costs its landmarks
        /// and encoders). One for feature extraction; the live engine follows several
        /// (`engine.max_faces`).
        public var maximumFaces: Int = 1
        /// How track ids are kept (`FaceTracker`).
        public var tracks = FaceTracker.Parameters()

        public init() {}
    }

    public let detector: MTCNN
    public let landmarkPredictor: LandmarkPredictor
    public let aligner: FaceAligner
    public let encoders: [any FaceEncoder]
    public var options: Options

    /// The landmarks of the faces to follow into the next frame.
    private var lastLandmarks: [[Point2D]] = []
    private var framesSinceDetection = 0
    private var tracker: FaceTracker
    /// The faces of the last analysed frame (track id, latest landmarks), whose mouths
    /// `followMouths` follows until the next one.
    private var followed: [(id: Int, landmarks: [Point2D])] = []
    /// Frames analysed (the tracker's clock when no time is given).
    private var frameIndex = 0

    public init(detector: MTCNN, landmarkPredictor: LandmarkPredictor, encoders: [any FaceEncoder], options: Options = Options()) {
        self.detector = detector
        self.landmarkPredictor = landmarkPredictor
        self.aligner = FaceAligner(template: landmarkPredictor.meanShape)
        self.encoders = encoders
        self.options = options
        tracker = FaceTracker(parameters: options.tracks)
    }

    /// Forgets the tracked faces (after a gap in the video, say); track ids go on growing.
    public mutating func reset() {
        lastLandmarks = []
        followed = []
        framesSinceDetection = 0
        tracker.reset()
    }

    /// The faces in `image`, shown at media time `time` (seconds; the tracker's clock for
    /// absences). Without a time, frames count as 0.1 s apart.
    public mutating func analyze(_ image: RGBImage, time: Double? = nil) -> FaceAnalysis {
        var detector = self.detector
        detector.parameters.minimumFaceSize = max(20, Double(image.height) * options.minimumFaceFraction)
        let now = time ?? Double(frameIndex) / 10
        frameIndex += 1
        var faceCount = 0
        var found: [(detection: DetectedFace, rectangle: FaceRectangle)] = []
        var tracked = false
        // Follow every face of the last frame with O-Net; when one is lost, or it is time to
        // look for newcomers, detect anew.
        if options.tracking, !lastLandmarks.isEmpty, framesSinceDetection < options.redetectInterval {
            for last in lastLandmarks {
                guard let verified = detector.verify(image, around: Self.bounds(last)), verified.keypoints.count == 5 else {
                    found.removeAll()
                    break
                }
                found.append((verified, aligner.rectangle(landmarks: last)))
            }
            if !found.isEmpty {
                faceCount = found.count
                tracked = true
                framesSinceDetection += 1
            }
        }
        if found.isEmpty {
            let faces = detector.detect(image).sorted { $0.width * $0.height > $1.width * $1.height }
            faceCount = faces.count
            framesSinceDetection = 0
            found = faces.prefix(max(1, options.maximumFaces)).filter { $0.keypoints.count == 5 }
                .map { ($0, aligner.rectangle(keypoints: $0.keypoints)) }
        }
        var observations: [FaceObservation] = []
        lastLandmarks = []
        for (detection, rectangle) in found {
            let landmarks = landmarkPredictor.predict(image: image, rectangle: rectangle)
            let quality = aligner.quality(landmarks)
            if quality.verdict != .poorFit { lastLandmarks.append(landmarks) }
            var encodings: [String: FaceEncoding] = [:]
            if quality.verdict == .good {
                for encoder in encoders {
                    encodings[encoder.featureName] = encoder.encode(crop(image, detection: detection, landmarks: landmarks, for: encoder))
                }
            }
            observations.append(FaceObservation(detection: detection, rectangle: rectangle, landmarks: landmarks, quality: quality, encodings: encodings))
        }
        let ids = tracker.update(time: now, faces: observations.map {
            FaceTracker.Box(x1: $0.detection.x1, y1: $0.detection.y1, x2: $0.detection.x2, y2: $0.detection.y2)
        })
        followed = zip(ids, observations).filter { $0.1.quality.verdict != .poorFit }.map { ($0.0, $0.1.landmarks) }
        let faces = zip(ids, observations).map { TrackedFace(id: $0, observation: $1) }
            .sorted { $0.observation.detection.width * $0.observation.detection.height > $1.observation.detection.width * $1.observation.detection.height }
        return FaceAnalysis(faceCount: faceCount, primary: faces.first?.observation, tracked: tracked && !faces.isEmpty, faces: faces)
    }

    /// Whether `followMouths` has faces to follow.
    public var followsFaces: Bool { !followed.isEmpty }

    /// The mouth openings (track id → `MouthOpening`) of the last analysed frame's faces in
    /// a frame between analysed ones: each face's landmarks placed from its latest ones (no
    /// detection, no encoders; dlib's trees alone), so that `ActiveSpeaker` sees mouths at the
    /// camera's rate while faces are analysed at `engine.face_fps`. A face whose landmarks
    /// do not fit is left out. What `analyze` tracks is untouched.
    public mutating func followMouths(_ image: RGBImage) -> [Int: MouthOpening] {
        var openings: [Int: MouthOpening] = [:]
        for index in followed.indices {
            let landmarks = landmarkPredictor.predict(image: image, rectangle: aligner.rectangle(landmarks: followed[index].landmarks))
            guard aligner.quality(landmarks).verdict != .poorFit, let opening = MouthOpening.measure(landmarks) else { continue }
            followed[index].landmarks = landmarks
            openings[followed[index].id] = opening
        }
        return openings
    }

    /// The crop `encoder` reads (`FaceEncoder.crop`) of the face found at `detection` with
    /// `landmarks` in `image`.
    public func crop(_ image: RGBImage, detection: DetectedFace, landmarks: [Point2D], for encoder: any FaceEncoder) -> AlignedFace {
        switch encoder.crop {
        case .aligned:
            return aligner.align(image, landmarks: landmarks, size: encoder.inputSize, margin: encoder.cropMargin)
        case .detectorBox:
            return Self.boxCrop(image, detection, size: encoder.inputSize)
        }
    }

    /// The detector's box cut as EmotiEffLib cuts it — `box.astype(int)`, then
    /// `frame[y1:y2, x1:x2]`: corners truncated to whole pixels, the far row and column left
    /// out — held inside the image (NumPy would wrap a negative corner round; MTCNN's boxes
    /// are inside already) and at least a pixel wide, then resized to `size` as Pillow does.
    static func boxCrop(_ image: RGBImage, _ box: DetectedFace, size: Int) -> AlignedFace {
        let left = min(max(Int(box.x1), 0), image.width - 1), top = min(max(Int(box.y1), 0), image.height - 1)
        let right = min(max(Int(box.x2), left + 1), image.width), bottom = min(max(Int(box.y2), top + 1), image.height)
        let pixels = ImageResampling.pillowBilinear(image, left: left, top: top, width: right - left, height: bottom - top,
                                                    outWidth: size, outHeight: size)
        return AlignedFace(size: size, rgb: pixels.map { Float($0) })
    }

    /// The bounding box of a set of points.
    static func bounds(_ points: [Point2D]) -> (x1: Double, y1: Double, x2: Double, y2: Double) {
        let xs = points.map(\.x), ys = points.map(\.y)
        return (xs.min()!, ys.min()!, xs.max()!, ys.max()!)
    }
}
