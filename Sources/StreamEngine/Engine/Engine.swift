import Locking
import Foundation
import Logging
import MediaCodec
import MediaTypes
import MerdEvents
import NeuralKit
import Synchronization

/// How the engine turns sound and pictures into events.
public struct EngineConfiguration: Sendable {
    /// HuBERT hidden states pooled per utterance (fusion inputs `FeatureName.speechLayer`, `HL<k>`).
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
    /// Utterances no visible face spoke (a television, someone off camera) are not reported
    /// (`engine.require_visible_speaker`); only while a face stage runs.
    public var requireVisibleSpeaker = false
    /// The live engine follows up to four faces (`engine.max_faces`); the face estimate and
    /// the utterance's visual features are the largest one's.
    public var facePipeline: FacePipeline.Options = {
        var options = FacePipeline.Options()
        options.maximumFaces = 4
        return options
    }()
    /// While a source runs, a `status` event repeats its counts (overruns, dropped frames)
    /// at most this often, and only when they changed.
    public var statusIntervalSeconds: Double = 10

    public init() {}
}

/// The pipeline from sources to events (DESIGN.md): audio is resampled to 16 kHz and fed to
/// a `SpeechFeed`, whose steps stream each utterance into the speech stage while it is
/// spoken; video frames are sampled through the face stage onto a timeline; `run()` finishes
/// each ended utterance in order — its speech features, the mean face features of its span,
/// the fusion stage — and emits its event. Between utterances, `face` events carry the face
/// stage's own estimate.
///
/// Audio and video run as separate loops (`runAudio`, `runVideo`) sharing the timeline, so a
/// lost camera or microphone can be reopened without disturbing the other. `run()` is the
/// engine's service loop: it must run while either source loop does; `close()` lets it finish
/// what is queued and return. `analyze` does all three for a recording.
///
/// Every event leaves through `emit`, numbered (`seq`) in the order it leaves.
public final class Engine: Sendable {
    /// The stages as they are now: all fixed for the engine's life but the fusion stage,
    /// which `replaceFusion` may swap (a model retrained while merd runs).
    public var stages: EngineStages {
        var stages = fixed
        stages.fusion = self.fusion.withLock { $0 }
        return stages
    }
    /// The stages but fusion (nil here, so that no stale copy of it is read), as read on the
    /// per-chunk and per-frame paths without a lock.
    private let fixed: EngineStages
    /// The fusion stage, swapped whole by `replaceFusion`.
    private let fusion: Locked<(any FusionDecoding)?>
    /// The label order of the events (the fusion stage's, which a replacement must keep).
    public let labels: [String]
    public let configuration: EngineConfiguration
    private let emitNumbered: @Sendable (Event) -> Void
    private let logger: Logger
    /// The last sequence number given; numbering and handing on happen under this lock, so
    /// events leave in the order of their numbers whichever loop made them.
    private let sequence: Locked<Int>
    /// The speech stage, in utterance order.
    private let compute = ComputeQueue(label: "merd.compute")
    /// The face stage, frame after frame.
    /// One OpenMP thread: the face CNNs' products are too small to share (mini-Xception 1.2 ms
    /// on one thread, 3.2 ms on two; the face path 22.5 against 27.1 ms a frame, `merd bench
    /// faces`), and the other cores are left to HuBERT.
    private let sight = ComputeQueue(label: "merd.vision", openMPThreads: 1)
    let timeline = VisualTimeline()
    /// How far the audio side has looked (offline, `face` events wait for it).
    private let heard = MediaProgress()
    /// Offline: analysed frames not yet judged for a `face` event (they wait until the audio
    /// is `speechDecisionSeconds` past them), and the last event's time.
    private let faceEventCandidates = Locked<(times: [Double], lastEvent: Double)>(([], -.infinity))
    private let finishing = FinishQueue()
    /// Where speech is on the media clock: finished utterances and the one being spoken
    /// (its start), so that `face` events stay between utterances also when the audio runs
    /// ahead of the video (offline).
    private let speech = Locked<(spans: [ClosedRange<Double>], open: Double?)>(([], nil))
    /// `SpeechFeed.pendingSpeechEnd`, or -1: a speculation still queued when speech resumed
    /// is not worth running.
    private let pendingEnd = Atomic<Int>(-1)
    private let speculationCounts = Locked(SpeculationCounts())
    private let finishes = Locked<[Int]>([])
    private let metrics = EngineMetrics()

    /// Last windows run ahead of a confirmed end so far, how many of them became an
    /// utterance's features (the rest were spent on pauses inside speech), how many were
    /// dropped on the way because speech resumed, and the compute time each kind took.
    public var speculations: SpeculationCounts { speculationCounts.withLock { $0 } }

    /// The engine's share of the latency of the last utterance events (at most
    /// `recentFinishesKept`), in order, microseconds: from the segmenter's confirmation of the
    /// end to the event. The rest of an event's latency is the segmenter's wait for the end.
    public var recentFinishMicroseconds: [Int] { finishes.withLock { Array($0.suffix(Self.recentFinishesKept)) } }
    public static let recentFinishesKept = 1000

    /// - Parameter lastSeq: the `seq` numbering continues after (the history's last, so that
    ///   `seq` goes on across daemon runs).
    public init(stages: EngineStages, configuration: EngineConfiguration = EngineConfiguration(),
                logger: Logger = Logger(label: "merd.engine"), continuingAfter lastSeq: Int = 0,
                emit: @escaping @Sendable (Event) -> Void) {
        var fixed = stages
        fixed.fusion = nil
        self.fixed = fixed
        fusion = Locked(stages.fusion)
        labels = stages.labels
        self.configuration = configuration
        self.logger = logger
        self.emitNumbered = emit
        sequence = Locked<Int>(lastSeq)
    }

    /// An engine over loaded models (each optional), set up by `configuration`.
    public convenience init(hubert: HuBERT?, fusion: FusionEnsemble?, vision: VisionModels? = nil,
                            configuration: EngineConfiguration = EngineConfiguration(),
                            logger: Logger = Logger(label: "merd.engine"), emit: @escaping @Sendable (Event) -> Void) {
        self.init(stages: EngineStages(hubert: hubert, fusion: fusion, vision: vision, configuration: configuration),
                  configuration: configuration, logger: logger, emit: emit)
    }

    /// The inputs this engine computes (`HL<k>`, the face encoders' features).
    public var availableInputs: Set<String> { fixed.availableInputs }
    /// Whether the fusion stage can run on what this engine computes.
    public var fusionUsable: Bool { stages.fusionUsable }

    /// Puts `fusion` in the fusion stage's place: every utterance whose decoding starts from
    /// now on is decoded by it (one being decoded keeps the model it began with). Refused,
    /// and the running stage kept, when its labels are not the events' (subscribers took
    /// their order from `hello`) or it reads inputs this engine does not compute; a model that
    /// could only give null emotion would be a loss, not a reload.
    public func replaceFusion(_ fusion: any FusionDecoding) throws(FusionReplacementError) {
        guard fusion.labels == labels else { throw .labels(running: labels, new: fusion.labels) }
        guard fixed.canRun(fusion) else {
            throw .inputs(missing: fixed.missingInputs(of: fusion).map(\.name), computed: fixed.availableInputs.sorted())
        }
        self.fusion.withLock { $0 = fusion }
    }

    /// Numbers `event` (`seq` counts every event of this engine, of every type, in the order
    /// they leave) and hands it on.
    public func emit(_ event: Event) {
        sequence.withLock { last in
            last += 1
            emitNumbered(event.numbered(last))
        }
    }

    /// A status event (numbered when emitted).
    public func status(_ source: String, _ state: StatusEvent.State, _ detail: String,
                       counts: SourceStatusCounts = SourceStatusCounts()) -> Event {
        .status(StatusEvent(seq: 0, time: Event.wallClock(), source: source, state: state, detail: detail,
                            droppedFrames: counts.droppedFrames, overruns: counts.overruns))
    }

    // MARK: The service loop

    /// Finishes ended utterances one by one, in order, until `close()` (then what is queued
    /// is finished first) or cancellation (then what is queued is dropped, and logged).
    public func run() async {
        while let work = await finishing.next() {
            switch work {
            case .utterance(let utterance): await finish(utterance)
            case .barrier(let continuation): continuation.resume()
            }
        }
        var dropped = 0
        for work in finishing.drain() {
            switch work {
            case .utterance: dropped += 1
            case .barrier(let continuation): continuation.resume()
            }
        }
        if dropped > 0 { logger.notice("stopping: \(dropped) ended utterance(s) dropped before their features were done") }
    }

    /// No more sources will run: `run()` finishes what is queued, then returns.
    public func close() {
        let pending = finishing.pendingUtterances
        if pending > 0 { logger.info("stopping: finishing \(pending) ended utterance(s) first") }
        finishing.close()
    }

    /// Both sources of a recording until both end, with `run()` alongside; returns when every
    /// event is out.
    public func analyze(audio: (any AudioSource)?, video: (any VideoSource)?) async throws {
        // Started here, not in the loops, so that each loop waits for the other from the first
        // frame and chunk on.
        if audio != nil { heard.start() }
        if video != nil, fixed.faces != nil { timeline.setActive(true) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.run() }
            try await withThrowingTaskGroup(of: Void.self) { sources in
                if let video, fixed.faces != nil { sources.addTask { try await self.runVideo(video) } }
                if let audio { sources.addTask { try await self.runAudio(audio) } }
                do { try await sources.waitForAll() } catch {
                    close()
                    throw error
                }
            }
            close()
            try await group.waitForAll()
        }
    }

    // MARK: Audio

    /// Consumes `audio` until it ends: a status event, an utterance event per utterance (the
    /// last ones once `run()` has finished them), a closing status event. Cancelled (at
    /// shutdown), it stops at once: the utterance being spoken is dropped, and logged.
    public func runAudio(_ audio: any AudioSource) async throws {
        heard.start()
        defer {
            heard.end()
            if !configuration.liveClock { emitDueFaceEvents() }
        }
        let chunks = try audio.chunks()
        emit(status("audio", .running, describe(audio.name, audio.negotiatedFormat)))
        var feed = SpeechFeed(segmenter: fixed.makeSegmenter(), speculateAfterPauseMilliseconds: configuration.speculateAfterPauseMilliseconds)
        var resampler: Resampler?
        var origin = MediaTime.zero
        var encodings: [Int: any UtteranceEncoding] = [:]
        // Without a face stage no one is told apart by their mouth: no bands.
        var bands = fixed.faces == nil ? nil : SpeechBandsFeed(sampleRate: feed.sampleRate)
        var reporter = CountsReporter(interval: configuration.statusIntervalSeconds)
        // The segmenter's visual gate reads the lips the video loop saw.
        let gated = fixed.faces != nil && configuration.segmenter.visualGate != nil
        var lipsSeen = -Double.infinity
        do {
            for try await chunk in chunks {
                if resampler == nil {
                    resampler = try Resampler(inputRate: chunk.sampleRate, inputChannels: chunk.channels)
                    origin = chunk.time
                }
                if gated {
                    // Offline, the lips of the chunk's span first (live, what the camera has
                    // given so far: the gate judges stale lips as none).
                    if !configuration.liveClock { await timeline.wait(until: chunk.endTime.seconds, timeout: nil) }
                    let lips = timeline.lips(after: lipsSeen)
                    if let last = lips.last { lipsSeen = last.time }
                    let rate = Double(feed.sampleRate)
                    feed.observeLips(lips.map { LipObservation(sample: Int((($0.time - origin.seconds) * rate).rounded()), track: $0.track, gap: $0.gap) })
                }
                let samples = resampler!.process(chunk)
                bands?.append(samples)
                let steps = feed.process(samples)
                pendingEnd.store(feed.pendingSpeechEnd ?? -1, ordering: .relaxed)
                perform(steps, encodings: &encodings, bands: &bands, origin: origin, rate: feed.sampleRate)
                heard.advance(to: chunk.endTime.seconds)
                if !configuration.liveClock { emitDueFaceEvents() }
                if let counts = reporter.due(audio.statusCounts) {
                    emit(status("audio", .running, describe(audio.name, audio.negotiatedFormat), counts: counts))
                }
            }
        } catch let error as ResamplerError {
            throw CaptureError.unsupportedFormat(source: audio.name, detail: error.description)
        } catch {
            // A source may end its stream by throwing when cancelled (a paced replay's sleep).
            guard Task.isCancelled else { throw error }
        }
        if Task.isCancelled {
            if feed.utteranceOpen { logger.notice("stopping: the utterance being spoken is dropped") }
            emit(status("audio", .stopped, audio.name, counts: audio.statusCounts))
            return
        }
        if let resampler {
            let samples = resampler.flush()
            bands?.append(samples)
            perform(feed.process(samples) + feed.finish(), encodings: &encodings, bands: &bands, origin: origin, rate: feed.sampleRate)
        }
        await finishing.barrier()
        emit(status("audio", .stopped, audio.name, counts: audio.statusCounts))
    }

    /// Carries out the feed's steps: the speech stage's work goes to the compute queue in
    /// step order; an ended utterance goes to `run()`, with a face stage its sound's bands
    /// (made as it was spoken, `bands`) with it.
    private func perform(_ steps: [SpeechFeed.Step], encodings: inout [Int: any UtteranceEncoding], bands: inout SpeechBandsFeed?,
                         origin: MediaTime, rate: Int) {
        for step in steps {
            switch step {
            case .begin(let id, let startSample):
                let at = origin.advanced(bySamples: startSample, sampleRate: rate).seconds
                speech.withLock { $0.open = at }
                if let encoding = fixed.speech?.beginUtterance() { encodings[id] = encoding }
                bands?.begin(utterance: id, startSample: startSample)
            case .push(let id, let samples):
                guard let encoding = encodings[id] else { continue }
                compute.submit { EngineMetrics.timed(self.metrics.speechWindow) { encoding.push(samples) } }
            case .speculate(let id, let rest, let end):
                guard let encoding = encodings[id] else { continue }
                compute.submit {
                    let started = ContinuousClock.now
                    let finished = encoding.speculate(rest, stillWanted: { self.pendingEnd.load(ordering: .relaxed) == end })
                    let seconds = (ContinuousClock.now - started) / .seconds(1)
                    self.speculationCounts.withLock { counts in
                        if finished {
                            counts.run += 1
                            counts.runSeconds += seconds
                        } else {
                            counts.dropped += 1
                            counts.droppedSeconds += seconds
                        }
                    }
                }
            case .finish(let id, let utterance, let rest):
                let start = origin.advanced(bySamples: utterance.startSample, sampleRate: utterance.sampleRate)
                let end = origin.advanced(bySamples: utterance.endSample, sampleRate: utterance.sampleRate)
                speech.withLock { state in
                    state.open = nil
                    state.spans.append(start.seconds...max(start.seconds, end.seconds))
                    if state.spans.count > 1000 { state.spans.removeFirst(state.spans.count - 1000) }
                }
                let speech = fixed.speechAffect == nil ? nil : Array(utterance.audio[0..<(utterance.speechEndSample - utterance.startSample)])
                let heard = bands?.finish(utterance: id, utterance, origin: origin.seconds)
                let queued = finishing.enqueue(.utterance(.init(encoding: encodings.removeValue(forKey: id), speech: speech, bands: heard, rest: rest,
                                                                start: start, end: end, detected: MediaTime.now(), lips: utterance.lips)))
                if !queued { logger.notice("stopping: an utterance ended after the engine closed; dropped") }
            }
        }
    }

    /// An utterance's event: its features, the video of its span, then the fusion stage's
    /// decision, or without one, the face and speech-emotion stages' own estimates.
    private func finish(_ utterance: FinishQueue.Utterance) async {
        var pooled: [Int: Tensor]?
        if let encoding = utterance.encoding {
            pooled = (try? await compute.run {
                let features = EngineMetrics.timed(self.metrics.speechFinish) { encoding.finish(rest: utterance.rest) }
                if encoding.usedSpeculation { self.speculationCounts.withLock { $0.used += 1 } }
                return features
            }) ?? nil
        }
        var voice: AffectEstimate?
        if let speech = utterance.speech, let stage = fixed.speechAffect {
            voice = (try? await compute.run { EngineMetrics.timed(self.metrics.speechAffect) { stage.affect(ofSpeech: speech) } }) ?? nil
        }
        if fixed.faces != nil && timeline.isActive {
            let timeout: Duration? = configuration.liveClock ? .milliseconds(configuration.videoWaitMilliseconds) : nil
            await timeline.wait(until: utterance.end.seconds, timeout: timeout)
        }
        let (startSeconds, endSeconds) = (utterance.start.seconds, utterance.end.seconds)
        // Who spoke: the tracked face whose mouth moved with the speech. Its frames alone give
        // the utterance's visual features and face estimate; without one, the largest face's.
        // Without video running (a camera unplugged) nothing is known of who spoke.
        var judgement = ActiveSpeaker.Judgement.undecided
        var entries: [VisualTimeline.Entry] = []
        if fixed.faces != nil {
            // From the lead's start (lips part before the sound, `ActiveSpeaker.leadSeconds`);
            // the utterance's own frames are those from its start.
            let from = min(startSeconds, utterance.bands?.start ?? startSeconds)
            let seen = timeline.entries(from: from, to: endSeconds)
            entries = seen.filter { $0.time >= startSeconds }
            // The segmenter's visual gate saw every visible mouth still through it: no one in
            // view spoke. Otherwise the sound's bands (made as it was spoken) against the mouths.
            if utterance.lips == .still {
                judgement = .noVisibleSpeaker
                logger.debug("utterance \(startSeconds)–\(endSeconds) s: \(judgement) (every visible mouth still, by the segmenter's visual gate)")
            } else if let bands = utterance.bands, timeline.isActive {
                let mouths = Self.mouths(in: seen, followed: timeline.mouths(from: from, to: endSeconds))
                let agreements = ActiveSpeaker.agreements(mouths: mouths, bands: bands)
                judgement = ActiveSpeaker.judge(agreements: agreements, mouths: mouths)
                logger.debug("utterance \(startSeconds)–\(endSeconds) s: \(judgement); frames per track \(mouths.mapValues(\.count)), agreement (lag) of the moving ones \(agreements)")
            }
            if let speaker = judgement.speaker { entries = Self.frames(of: speaker.track, in: entries) }
        }
        let speaker = judgement.speaker
        let speakerVisible = fixed.faces == nil ? nil : judgement.speakerVisible
        if configuration.requireVisibleSpeaker, speakerVisible == false {
            logger.debug("utterance \(startSeconds)–\(endSeconds) s: no visible face spoke it; not reported (engine.require_visible_speaker)")
            metrics.utterancesWithoutVisibleSpeaker.increment()
            return
        }
        let visual = fixed.faces == nil ? VisualTimeline.Summary() : VisualTimeline.summary(of: entries)
        let face = fixed.faces == nil ? nil : FaceSpanEstimate(entries: entries, labels: labels)
        let faceModel = fixed.faces?.modelName
        var source = EventSource()
        var emotion: EmotionEstimate?
        var valence: Float?
        if let decision = try? await decode(pooled: pooled, visual: visual) {
            (emotion, source.emotion) = (decision.emotion, EventSource.fusion)
            if let fused = decision.valence { (valence, source.valence) = (fused, EventSource.fusion) }
        } else if let estimate = face?.emotion, let faceModel {
            (emotion, source.emotion) = (estimate, EventSource.face(faceModel))
        }
        if source.valence == nil {
            // No fusion model, or one trained without valence labels: the voice's and the face's.
            (valence, source.valence) = AffectCombination.combine(speech: voice?.valence, speechModel: fixed.speechAffect?.modelName,
                                                                  face: face?.valence, faceModel: faceModel,
                                                                  speechShare: AffectCombination.speechShareOfValence)
        }
        // No fusion model gives arousal: it always comes from the voice and the face.
        let (arousal, arousalSource) = AffectCombination.combine(speech: voice?.arousal, speechModel: fixed.speechAffect?.modelName,
                                                                 face: face?.arousal, faceModel: faceModel,
                                                                 speechShare: AffectCombination.speechShareOfArousal)
        source.arousal = arousalSource
        let now = MediaTime.now()
        let latency = configuration.liveClock ? now - utterance.end : now - utterance.detected
        let finish = now - utterance.detected
        metrics.utteranceFinish.recordNanoseconds(finish.nanoseconds)
        finishes.withLock { finishes in
            finishes.append(Int(finish.nanoseconds / 1000))
            if finishes.count > 2 * Self.recentFinishesKept { finishes.removeFirst(finishes.count - Self.recentFinishesKept) }
        }
        emit(.utterance(UtteranceEvent(
            seq: 0, time: Event.wallClock(), start: startSeconds, end: endSeconds,
            emotion: emotion, valence: valence, arousal: arousal, source: source,
            audio: pooled != nil, face: visual.faceFrames > 0,
            faceFrames: visual.faceFrames, faceFramesMissing: visual.missingFrames,
            latencyMilliseconds: max(0, Int(latency.nanoseconds / 1_000_000)),
            speaker: speaker.map { UtteranceEvent.Speaker(track: $0.track, confidence: $0.confidence) }, speakerVisible: speakerVisible)))
    }

    /// Each track's mouth openings in `entries` and in the frames between them, in time order.
    /// A track seen only with landmarks too poor to measure (turned away) is there with no
    /// openings: in view, but nothing known of its lips (`ActiveSpeaker.Judgement.undecided`).
    static func mouths(in entries: [VisualTimeline.Entry], followed: [VisualTimeline.Mouth]) -> [Int: ActiveSpeaker.MouthSeries] {
        var mouths: [Int: ActiveSpeaker.MouthSeries] = [:]
        for entry in entries {
            for track in entry.tracks {
                if let mouth = track.mouth { mouths[track.id, default: []].append((entry.time, mouth)) } else if mouths[track.id] == nil { mouths[track.id] = [] }
            }
        }
        for mouth in followed { mouths[mouth.track, default: []].append((mouth.time, mouth.opening)) }
        return mouths.mapValues { $0.sorted { $0.time < $1.time } }
    }

    /// `entries` as `track` alone was seen in them: its encodings and estimates as the frame's,
    /// a frame without it as a frame without a face.
    static func frames(of track: Int, in entries: [VisualTimeline.Entry]) -> [VisualTimeline.Entry] {
        entries.map { entry in
            guard let face = entry.tracks.first(where: { $0.id == track }) else {
                return .init(time: entry.time, faces: entry.faces, encodings: [:], probabilities: nil, labels: entry.labels, box: nil)
            }
            return .init(time: entry.time, faces: entry.faces, encodings: face.encodings, probabilities: face.probabilities, labels: entry.labels,
                         box: face.box, valence: face.valence, arousal: face.arousal, tracks: [face])
        }
    }

    /// The fusion stage's emotion and valence from what was computed, or nil when it cannot
    /// decide: no fusion stage, or inputs missing that it was not trained to do without.
    /// Valence is nil from a model trained without valence labels.
    func decode(pooled: [Int: Tensor]?, visual: VisualTimeline.Summary) async throws -> (emotion: EmotionEstimate, valence: Float?)? {
        guard let fusion = self.fusion.withLock({ $0 }) else { return nil }
        var features: [String: [Float]] = [:]
        for (layer, tensor) in pooled ?? [:] { features[FeatureName.speechLayer(layer).description] = tensor.scalars }
        for (name, values) in visual.means { features[name] = values }
        let missing = fusion.inputs.filter { features[$0.name] == nil }
        if !missing.isEmpty {
            guard fusion.decodesWithMissingModality, EngineStages.oneModality(missing.map(\.name), of: fusion.inputs) else { return nil }
            // Trained with a modality dropped as zeros: a missing one is given as zeros.
            for input in missing { features[input.name] = [Float](repeating: 0, count: input.size) }
        }
        for input in fusion.inputs where features[input.name]?.count != input.size { return nil }
        let inputs = features
        let decision = try await compute.run { EngineMetrics.timed(self.metrics.fusion) { fusion.predict(inputs, rows: 1) } }
        return (EmotionEstimate(labels: fusion.labels, probabilities: decision.probabilities[0]),
                fusion.valenceTrained ? max(-5, min(5, decision.valence[0])) : nil)
    }

    // MARK: Video

    /// Consumes `video` until it ends: frames sampled at `faceFramesPerSecond` through the face
    /// stage onto the timeline; `face` events every `faceEventSeconds` while a face is
    /// visible and no one speaks.
    public func runVideo(_ video: any VideoSource) async throws {
        guard let faces = fixed.faces else { return }
        timeline.setActive(true)
        defer {
            // The audio loop waits on the timeline offline: it must hear that nothing more comes.
            timeline.setActive(false)
            if !configuration.liveClock { emitDueFaceEvents() }
        }
        let frames = try video.frames()
        emit(status("video", .running, describe(video.name, video.negotiatedFormat)))
        let session = faces.makeSession()
        var reporter = CountsReporter(interval: configuration.statusIntervalSeconds)
        do {
            try await analyzeFrames(frames, of: video, stage: faces, session: session, reporter: &reporter)
        } catch {
            // A source may end its stream by throwing when cancelled (a paced replay's sleep).
            guard Task.isCancelled else { throw error }
        }
        emit(status("video", .stopped, video.name, counts: video.statusCounts))
    }

    private func analyzeFrames(_ frames: AsyncThrowingStream<VideoFrame, any Error>, of video: any VideoSource, stage faces: any FaceAnalysing,
                               session: any FaceSession, reporter: inout CountsReporter) async throws {
        let period = 1 / configuration.faceFramesPerSecond
        var lastAnalysed = -Double.infinity
        var lastEvent = -Double.infinity
        for try await frame in frames {
            metrics.framesReceived.increment()
            if let counts = reporter.due(video.statusCounts) {
                emit(status("video", .running, describe(video.name, video.negotiatedFormat), counts: counts))
            }
            let time = frame.time.seconds
            // Sampling: a frame within a period of the last analysed one is skipped (a few
            // milliseconds of slack so 25 fps sampled at 10 keeps a steady rhythm).
            guard time - lastAnalysed >= period - 0.005, let image = RGBImage(frame) else {
                // Between analysed frames, the followed faces' mouths alone: who speaks is
                // told from mouths at the camera's rate (`ActiveSpeaker`).
                let mouths = try await sight.run { session.followsFaces ? RGBImage(frame).map(session.followMouths) ?? [:] : [:] }
                timeline.passed(time, mouths: mouths)
                continue
            }
            lastAnalysed = time
            metrics.framesAnalysed.increment()
            let seen = try await sight.run { EngineMetrics.timed(self.metrics.face) { session.analyze(image, time: time) } }
            timeline.append(.init(time: time, faces: seen.faces, encodings: seen.encodings,
                                  probabilities: seen.probabilities, labels: faces.labels, box: seen.box,
                                  valence: seen.valence, arousal: seen.arousal, tracks: seen.tracks))
            guard configuration.liveClock else {
                // Speech is known a moment after it starts (the segmenter's onset window and
                // pre-roll): the frame is judged once the audio side is well past it. The video
                // does not wait for that, because the audio waits for the video's lips.
                faceEventCandidates.withLock { $0.times.append(time) }
                emitDueFaceEvents()
                continue
            }
            if time - lastEvent >= configuration.faceEventSeconds, !isSpeech(at: time),
               let event = faceEvent(at: time, window: configuration.faceEventSeconds) {
                emit(event)
                lastEvent = time
            }
        }
    }

    /// How long after a sample the segmenter has surely decided whether it is speech: its onset
    /// window (150 ms) and pre-roll (60 ms), with room to spare.
    static let speechDecisionSeconds = 0.5

    /// Offline: the `face` events of the analysed frames the audio side is now far enough
    /// past (all of them once it ended, or with no audio), in frame order. Either loop calls
    /// it; the lock keeps the order and the spacing.
    private func emitDueFaceEvents() {
        faceEventCandidates.withLock { state in
            while let time = state.times.first, heard.hasReached(time + Self.speechDecisionSeconds) {
                state.times.removeFirst()
                guard time - state.lastEvent >= configuration.faceEventSeconds, !isSpeech(at: time),
                      let event = faceEvent(at: time, window: configuration.faceEventSeconds) else { continue }
                emit(event)
                state.lastEvent = time
            }
        }
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
        let estimate = FaceSpanEstimate(entries: recent, labels: labels)
        let model = fixed.faces?.modelName
        let source = EventSource(emotion: estimate.emotion == nil ? nil : model.map(EventSource.face),
                                 valence: estimate.valence == nil ? nil : model.map(EventSource.face),
                                 arousal: estimate.arousal == nil ? nil : model.map(EventSource.face))
        return .face(FaceEvent(seq: 0, time: Event.wallClock(), mediaTime: time, faces: latest.faces, box: latest.box,
                               emotion: estimate.emotion, valence: estimate.valence, arousal: estimate.arousal,
                               probs8: estimate.ownProbabilities, source: source, tracks: Self.tracks(in: recent, labels: labels),
                               window: window))
    }

    /// Each face tracked in `entries` with its estimate from its own frames, the largest (in
    /// its latest frame) first.
    static func tracks(in entries: [VisualTimeline.Entry], labels: [String]) -> [FaceTrack] {
        var frames: [Int: [VisualTimeline.Entry]] = [:]
        var order: [Int] = []
        for entry in entries {
            for track in entry.tracks {
                if frames[track.id] == nil { order.append(track.id) }
                frames[track.id, default: []].append(.init(time: entry.time, faces: 1, encodings: track.encodings, probabilities: track.probabilities,
                                                           labels: entry.labels, box: track.box, valence: track.valence, arousal: track.arousal))
            }
        }
        let tracks = order.map { id -> FaceTrack in
            let own = frames[id]!
            let estimate = FaceSpanEstimate(entries: own, labels: labels)
            return FaceTrack(id: id, box: own.last!.box!, emotion: estimate.emotion, valence: estimate.valence, arousal: estimate.arousal)
        }
        return tracks.sorted { $0.box[2] * $0.box[3] > $1.box[2] * $1.box[3] }
    }

    /// `name` and, once known, the format agreed with the device.
    private func describe(_ name: String, _ format: String?) -> String {
        format.map { "\(name) \($0)" } ?? name
    }
}

/// Says when a running source's counts are worth a `status` event: they changed, and the
/// last report is at least `interval` old.
struct CountsReporter {
    let interval: Double
    private var reported = SourceStatusCounts()
    private var reportedAt = MediaTime.now()

    init(interval: Double) { self.interval = interval }

    mutating func due(_ counts: SourceStatusCounts) -> SourceStatusCounts? {
        guard counts != reported else { return nil }
        let now = MediaTime.now()
        guard (now - reportedAt).seconds >= interval else { return nil }
        reported = counts
        reportedAt = now
        return counts
    }
}
