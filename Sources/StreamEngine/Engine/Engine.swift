import MediaCodec
import MerdEvents
import Foundation
import MediaTypes
import NeuralKit
import Synchronization

/// How the engine turns sound and pictures into events.
public struct EngineConfiguration: Sendable {
    /// HuBERT hidden states pooled per utterance, named `HL<k>` for the fusion model.
    public var layers: [Int] = [18, 19, 20]
    public var segmenter = SegmenterParameters()
    /// How HuBERT's transformer runs while an utterance is still being spoken.
    public var windowing = HuBERTWindowing()
    /// A pause this long starts the utterance's last HuBERT window at once, before the
    /// hangover confirms the end; speech that resumes wastes that work (up to a layer's).
    /// nil: the last window starts when the end is confirmed.
    public var speculateAfterPauseMilliseconds: Int? = 0
    /// The media clock is the live monotonic clock (capture, or a file replayed in real time):
    /// latency is then measured from the end of speech on that clock, and an utterance waits at
    /// most `videoWaitMilliseconds` for the video to catch up. Offline, latency is the
    /// processing time from the moment the end of speech was detected, and the audio waits for
    /// the video as long as it takes.
    public var liveClock = true
    /// Frames the face pipeline analyses per second; the others are skipped (the paper
    /// averages frame embeddings; ten a second sample a face's expressions well).
    public var faceFramesPerSecond: Double = 10
    /// Seconds between `face` events while a face is visible and no one speaks.
    public var faceEventSeconds: Double = 1
    public var videoWaitMilliseconds = 500
    public var facePipeline = FacePipeline.Options()

    public init() {}
}

/// The pipeline from sources to events (DESIGN.md): audio is resampled to 16 kHz and
/// segmented; HuBERT runs on each utterance while it is spoken; video frames are sampled
/// through the face pipeline onto a timeline; at each utterance's end the fusion model reads
/// the utterance's pooled speech features and the mean face embeddings of its span; between
/// utterances, `face` events carry the face encoder's own estimate.
///
/// Audio and video run as separate loops (`runAudio`, `runVideo`) sharing the timeline, so a
/// lost camera or microphone can be reopened without disturbing the other. Models are
/// optional: without HuBERT there are no speech features, without face models no face path,
/// without a fusion model (or one missing inputs it cannot do without) `emotion` and `valence`
/// are null. Nothing is invented.
public final class Engine: Sendable {
    public let hubert: HuBERT?
    public let fusion: FusionEnsemble?
    public let vision: VisionModels?
    public let configuration: EngineConfiguration
    /// The last sequence number given; numbering and handing on happen under this lock, so
    /// events leave in the order of their numbers whichever loop made them.
    private let sequence = Mutex<Int>(0)
    /// HuBERT and fusion, in utterance order.
    private let compute = ComputeQueue(label: "merd.compute")
    /// The face pipeline, frame after frame.
    private let sight = ComputeQueue(label: "merd.vision")
    let timeline = VisualTimeline()
    /// Where speech is on the media clock: finished utterances and the one being spoken
    /// (its start), so that `face` events stay between utterances also when the audio runs
    /// ahead of the video (offline).
    private let speech = Mutex<(spans: [ClosedRange<Double>], open: Double?)>(([], nil))
    /// The newest utterance's finishing work: each waits for the one before, so utterance
    /// events leave in order.
    private let lastFinish = Mutex<Task<Void, Never>?>(nil)
    /// Where the utterance's speech ends if the pause under way lasts, or -1 while speech
    /// goes on: a speculation still queued when speech resumed is not worth running.
    private let pendingEnd = Atomic<Int>(-1)
    private let speculationCounts = Mutex<(run: Int, used: Int, dropped: Int)>((0, 0, 0))

    /// Last windows run ahead of a confirmed end so far, how many of them became an
    /// utterance's features (the rest were spent on pauses inside speech), and how many were
    /// dropped on the way because speech resumed (each costs at most a layer).
    public var speculations: (run: Int, used: Int, dropped: Int) { speculationCounts.withLock { $0 } }

    public init(hubert: HuBERT?, fusion: FusionEnsemble?, vision: VisionModels? = nil,
                configuration: EngineConfiguration = EngineConfiguration()) {
        self.hubert = hubert
        self.fusion = fusion
        self.vision = vision
        self.configuration = configuration
    }

    /// The label order of the events.
    public var labels: [String] { fusion?.labels ?? FusionArchitecture.merLabels }

    /// The inputs this engine can compute: HL<k> with HuBERT, each face encoder's with the
    /// face models.
    public var availableInputs: Set<String> {
        var names = Set<String>()
        if hubert != nil { names.formUnion(configuration.layers.map { "HL\($0)" }) }
        if let vision { names.formUnion(vision.encoders.map(\.featureName)) }
        return names
    }

    /// Whether the fusion model can run on what this engine computes (all its inputs, or all
    /// but one modality when it was trained to do without one).
    public var fusionUsable: Bool {
        guard let fusion else { return false }
        let missing = fusion.inputs.filter { !availableInputs.contains($0.name) }
        return missing.isEmpty || (fusion.decodesWithMissingModality && Self.oneModality(missing.map(\.name), of: fusion))
    }

    /// Whether `missing` is exactly one whole modality of the model's inputs (speech: HL…).
    static func oneModality(_ missing: [String], of fusion: FusionEnsemble) -> Bool {
        let speech = fusion.inputs.map(\.name).filter { $0.hasPrefix("HL") }
        let visual = fusion.inputs.map(\.name).filter { !$0.hasPrefix("HL") }
        return !speech.isEmpty && !visual.isEmpty && (Set(missing) == Set(speech) || Set(missing) == Set(visual))
    }

    /// `emit`, with each event numbered on the way (`seq` counts every event of this run, of
    /// every type, in the order they leave).
    public func sequenced(_ emit: @escaping @Sendable (Event) -> Void) -> @Sendable (Event) -> Void {
        { event in
            self.sequence.withLock { last in
                last += 1
                emit(event.numbered(last))
            }
        }
    }

    /// A status event (numbered when it is emitted through `sequenced`).
    public func status(_ source: String, _ state: StatusEvent.State, _ detail: String, droppedFrames: Int = 0, overruns: Int = 0) -> Event {
        .status(StatusEvent(seq: 0, time: Event.wallClock(), source: source, state: state, detail: detail,
                            droppedFrames: droppedFrames, overruns: overruns))
    }

    /// Both sources at once until both end (a recording), or the task is cancelled.
    public func run(audio: (any AudioSource)?, video: (any VideoSource)?, emit: @escaping @Sendable (Event) -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let video, vision != nil { group.addTask { try await self.runVideo(video, emit: emit) } }
            if let audio { group.addTask { try await self.runAudio(audio, emit: emit) } }
            try await group.waitForAll()
        }
    }

    // MARK: Audio

    /// Consumes `audio` until it ends: a status event, an utterance event per utterance (the
    /// last ones once their features are done), a closing status event.
    public func runAudio(_ audio: any AudioSource, emit unnumbered: @escaping @Sendable (Event) -> Void) async throws {
        let emit = sequenced(unnumbered)
        emit(status("audio", .running, audio.name))
        var segmenter = EnergySegmenter(parameters: configuration.segmenter)
        let rate = segmenter.sampleRate
        var resampler: Resampler?
        var origin: MediaTime?
        // The stream's recent samples, from `historyStart`: the start of an utterance is
        // reported after its onset, so its first samples are taken from here.
        var history: [Float] = []
        var historyStart = 0
        var total = 0
        var job: UtteranceJob?
        var jobPushed = 0
        let keep = 2 * rate

        func handle(_ events: [SegmenterEvent], detected: MediaTime) {
            for event in events {
                switch event {
                case .speechStarted(let sample):
                    let at = (origin ?? .zero).advanced(bySamples: sample, sampleRate: rate).seconds
                    speech.withLock { $0.open = at }
                    let started = UtteranceJob(model: hubert, layers: configuration.layers, windowing: configuration.windowing)
                    job = started
                    jobPushed = max(sample, historyStart)
                    if sample < historyStart {
                        // History no longer reaches back (cannot happen with 2 s kept); the
                        // utterance's own audio will be pushed whole at its end instead.
                        jobPushed = sample
                    }
                case .utterance(let utterance):
                    let first = (origin ?? .zero).advanced(bySamples: utterance.startSample, sampleRate: rate).seconds
                    let last = (origin ?? .zero).advanced(bySamples: utterance.endSample, sampleRate: rate).seconds
                    let span = first...max(first, last)
                    speech.withLock { state in
                        state.open = nil
                        state.spans.append(span)
                        if state.spans.count > 1000 { state.spans.removeFirst(state.spans.count - 1000) }
                    }
                    let finishing = job ?? UtteranceJob(model: hubert, layers: configuration.layers, windowing: configuration.windowing)
                    // HuBERT reads the speech, not the tail after it (see `Utterance.speechEndSample`).
                    let speechCount = utterance.speechEndSample - utterance.startSample
                    let from = job == nil ? 0 : max(0, min(jobPushed - utterance.startSample, speechCount))
                    let rest = Array(utterance.audio[from..<speechCount])
                    job = nil
                    speculatedEnd = nil
                    finish(utterance, job: finishing, rest: rest, origin: origin ?? .zero, detected: detected, emit: emit)
                }
            }
        }

        // The end of speech a speculation was started for, in this utterance.
        var speculatedEnd: Int?

        /// Once a pause has lasted `speculateAfterPauseMilliseconds`, the last window runs on
        /// the audio up to where the utterance's speech would end (see `UtteranceJob`).
        func speculate() {
            // Between utterances the last value stays: a speculation for the end that came is
            // still worth finishing.
            guard let active = job else { return }
            guard let after = configuration.speculateAfterPauseMilliseconds,
                  let end = segmenter.pendingSpeechEnd, segmenter.pauseMilliseconds >= after else {
                pendingEnd.store(-1, ordering: .relaxed)
                return
            }
            pendingEnd.store(end, ordering: .relaxed)
            guard end != speculatedEnd, jobPushed >= historyStart, end >= jobPushed, end - historyStart <= history.count else { return }
            speculatedEnd = end
            let rest = Array(history[(jobPushed - historyStart)..<(end - historyStart)])
            compute.submit {
                let finished = active.speculate(rest, stillWanted: { self.pendingEnd.load(ordering: .relaxed) == end })
                self.speculationCounts.withLock { if finished { $0.run += 1 } else { $0.dropped += 1 } }
            }
        }

        func pushSpoken() {
            guard let active = job else { return }
            // Samples before the last speech frame's end are in the utterance wherever it ends.
            guard let target = segmenter.speechEnd.map({ min($0, total) }) else { return }
            guard target > jobPushed, jobPushed >= historyStart else { return }
            let samples = Array(history[(jobPushed - historyStart)..<(target - historyStart)])
            compute.submit { active.push(samples) }
            jobPushed = target
        }

        do {
            for try await chunk in try audio.chunks() {
                if resampler == nil {
                    resampler = try Resampler(inputRate: chunk.sampleRate, inputChannels: chunk.channels)
                    origin = chunk.time
                }
                let samples = resampler!.process(chunk)
                history += samples
                total += samples.count
                handle(segmenter.process(samples), detected: MediaTime.now())
                pushSpoken()
                speculate()
                let drop = min(total - keep, job == nil ? Int.max : jobPushed) - historyStart
                if drop > rate {
                    history.removeFirst(drop)
                    historyStart += drop
                }
            }
        } catch let error as ResamplerError {
            throw CaptureError.unsupportedFormat(source: audio.name, detail: error.description)
        }
        if let resampler {
            handle(segmenter.process(resampler.flush()) + segmenter.finish(), detected: MediaTime.now())
        }
        await lastFinish.withLock { $0 }?.value
        emit(status("audio", .stopped, audio.name))
    }

    /// Finishes an utterance off the audio loop: its features, the video of its span, the
    /// fusion model, the event, after the previous utterance's event.
    private func finish(_ utterance: Utterance, job: UtteranceJob, rest: [Float], origin: MediaTime, detected: MediaTime,
                        emit: @escaping @Sendable (Event) -> Void) {
        let start = origin.advanced(bySamples: utterance.startSample, sampleRate: utterance.sampleRate)
        let end = origin.advanced(bySamples: utterance.endSample, sampleRate: utterance.sampleRate)
        lastFinish.withLock { last in
            let previous = last
            last = Task {
                await previous?.value
                let pooled: [Int: Tensor]? = (try? await self.compute.run {
                    let features = job.finish(rest: rest)
                    if job.usedSpeculation { self.speculationCounts.withLock { $0.used += 1 } }
                    return features
                }) ?? nil
                if self.vision != nil && self.timeline.isActive {
                    let timeout: Duration? = self.configuration.liveClock ? .milliseconds(self.configuration.videoWaitMilliseconds) : nil
                    await self.timeline.wait(until: end.seconds, timeout: timeout)
                }
                let visual = self.vision == nil ? VisualTimeline.Summary() : self.timeline.summary(from: start.seconds, to: end.seconds)
                let decision = try? await self.decode(pooled: pooled, visual: visual)
                let now = MediaTime.now()
                let latency = self.configuration.liveClock ? now - end : now - detected
                emit(.utterance(UtteranceEvent(
                    seq: 0, time: Event.wallClock(), start: start.seconds, end: end.seconds,
                    emotion: decision?.emotion, valence: decision?.valence,
                    audio: pooled != nil, face: visual.faceFrames > 0,
                    faceFrames: visual.faceFrames, faceFramesMissing: visual.missingFrames,
                    latencyMilliseconds: max(0, Int(latency.nanoseconds / 1_000_000)))))
            }
        }
    }

    /// The fusion model's emotion and valence from what was computed, or nil when it cannot
    /// decide: no model, or inputs missing that it was not trained to do without.
    func decode(pooled: [Int: Tensor]?, visual: VisualTimeline.Summary) async throws -> (emotion: EmotionEstimate, valence: Float)? {
        guard let fusion else { return nil }
        var features: [String: [Float]] = [:]
        for (layer, tensor) in pooled ?? [:] { features["HL\(layer)"] = tensor.scalars }
        for (name, values) in visual.means { features[name] = values }
        let missing = fusion.inputs.filter { features[$0.name] == nil }
        if !missing.isEmpty {
            guard fusion.decodesWithMissingModality, Self.oneModality(missing.map(\.name), of: fusion) else { return nil }
            // Trained with a modality dropped as zeros: a missing one is given as zeros.
            for input in missing { features[input.name] = [Float](repeating: 0, count: input.size) }
        }
        for input in fusion.inputs where features[input.name]?.count != input.size { return nil }
        let inputs = features
        let decision = try await compute.run { fusion.predict(inputs, rows: 1) }
        return (EmotionEstimate(labels: fusion.labels, probabilities: decision.probabilities[0]), max(-5, min(5, decision.valence[0])))
    }

    // MARK: Video

    /// The face pipeline's state, used only on the vision queue.
    private final class PipelineBox: @unchecked Sendable {
        var pipeline: FacePipeline
        init(_ pipeline: FacePipeline) { self.pipeline = pipeline }
    }

    /// Consumes `video` until it ends: frames sampled at `faceFramesPerSecond` through the face
    /// pipeline onto the timeline; `face` events every `faceEventSeconds` while a face is
    /// visible and no one speaks.
    public func runVideo(_ video: any VideoSource, emit unnumbered: @escaping @Sendable (Event) -> Void) async throws {
        guard let vision else { return }
        let emit = sequenced(unnumbered)
        emit(status("video", .running, video.name))
        timeline.setActive(true)
        defer { timeline.setActive(false) }
        let box = PipelineBox(vision.makePipeline(options: configuration.facePipeline))
        let period = 1 / configuration.faceFramesPerSecond
        var lastAnalysed = -Double.infinity
        var lastEvent = -Double.infinity
        let labels = vision.encoders.first?.labels ?? []
        let primary = vision.encoders.first?.featureName
        for try await frame in try video.frames() {
            let time = frame.time.seconds
            // Sampling: a frame within a period of the last analysed one is skipped (a few
            // milliseconds of slack so 25 fps sampled at 10 keeps a steady rhythm).
            guard time - lastAnalysed >= period - 0.005, let image = RGBImage(frame) else {
                timeline.passed(time)
                continue
            }
            lastAnalysed = time
            let analysis = try await sight.run { box.pipeline.analyze(image) }
            let face = analysis.primary
            let encodings = face?.encodings.mapValues(\.embedding) ?? [:]
            let box = face.map { f -> [Int] in
                let d = f.detection
                return [d.x1, d.y1, d.width, d.height].map { Int($0.rounded()) }
            }
            timeline.append(.init(time: time, faces: analysis.faceCount, encodings: encodings,
                                  probabilities: primary.flatMap { face?.encodings[$0]?.probabilities }, labels: labels, box: box))
            if time - lastEvent >= configuration.faceEventSeconds, !isSpeech(at: time),
               let event = faceEvent(at: time, window: configuration.faceEventSeconds) {
                emit(event)
                lastEvent = time
            }
        }
        emit(status("video", .stopped, video.name))
    }

    /// Whether someone is speaking at media time `time`, as far as the audio side knows.
    func isSpeech(at time: Double) -> Bool {
        speech.withLock { state in
            if let open = state.open, time >= open { return true }
            return state.spans.contains { $0.contains(time) }
        }
    }

    /// A `face` event over the last `window` seconds, or nil when no face was seen in it.
    func faceEvent(at time: Double, window: Double) -> Event? {
        let recent = timeline.entries(from: time - window, to: time)
        guard let latest = recent.last(where: { $0.faces > 0 }) else { return nil }
        let folded = recent.compactMap { entry in entry.probabilities.flatMap { VisualEstimate.fold($0, labels: entry.labels, onto: labels) } }
        var emotion: EmotionEstimate?
        if !folded.isEmpty {
            let mean = (0..<labels.count).map { i in folded.map { $0[i] }.reduce(0, +) / Float(folded.count) }
            emotion = EmotionEstimate(labels: labels, probabilities: mean)
        }
        return .face(FaceEvent(seq: 0, time: Event.wallClock(), mediaTime: time, faces: latest.faces,
                               box: latest.box, emotion: emotion, window: window))
    }
}
