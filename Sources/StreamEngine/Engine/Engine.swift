import Foundation
import MediaTypes
import Synchronization

/// How the engine turns audio into utterance events.
public struct EngineConfiguration: Sendable {
    /// HuBERT hidden states pooled per utterance, named `HL<k>` for the fusion model.
    public var layers: [Int] = [18, 19, 20]
    public var segmenter = SegmenterParameters()
    /// The media clock is the live monotonic clock (capture, or a file replayed in real time):
    /// latency is then measured from the end of speech on that clock. Offline, it is the
    /// processing time from the moment the end of speech was detected.
    public var liveClock = true

    public init() {}
}

/// The pipeline from an audio source to events: resampling to 16 kHz mono, segmentation,
/// HuBERT features of each utterance, the fusion model's emotion and valence.
///
/// Models are optional: without HuBERT there are no audio features, without a fusion model
/// (or one that needs inputs this engine cannot compute, such as the face encoders') the
/// utterance events carry `emotion` and `valence` as null. The visual path joins when the face
/// pipeline lands.
public final class Engine: Sendable {
    public let hubert: HuBERT?
    public let fusion: FusionEnsemble?
    public let configuration: EngineConfiguration
    private let sequence = Atomic<Int>(0)

    public init(hubert: HuBERT?, fusion: FusionEnsemble?, configuration: EngineConfiguration = EngineConfiguration()) {
        self.hubert = hubert
        self.fusion = fusion
        self.configuration = configuration
    }

    /// The next sequence number of this run (events are numbered across types).
    public func nextSequence() -> Int { sequence.add(1, ordering: .relaxed).newValue }

    /// Whether the fusion model can run on what this engine computes.
    public var fusionUsable: Bool {
        guard let fusion, hubert != nil else { return false }
        let available = Set(configuration.layers.map { "HL\($0)" })
        return fusion.inputs.allSatisfy { available.contains($0.name) }
    }

    public func status(_ source: String, _ state: StatusEvent.State, _ detail: String, overruns: Int = 0) -> Event {
        .status(StatusEvent(seq: nextSequence(), time: Event.wallClock(), source: source, state: state, detail: detail, overruns: overruns))
    }

    /// Consumes `audio` until it ends, emitting a status event, one utterance event per
    /// utterance, and a closing status event.
    public func run(audio: some AudioSource, emit: @Sendable (Event) -> Void) async throws {
        emit(status("audio", .running, audio.name))
        var segmenter = EnergySegmenter(parameters: configuration.segmenter)
        var resampler: Resampler?
        var origin: MediaTime?
        do {
            for try await chunk in try audio.chunks() {
                if resampler == nil {
                    resampler = try Resampler(inputRate: chunk.sampleRate, inputChannels: chunk.channels)
                    origin = chunk.time
                }
                let detected = MediaTime.now()
                for event in segmenter.process(resampler!.process(chunk)) {
                    if case .utterance(let utterance) = event {
                        emit(try utteranceEvent(utterance, origin: origin!, detected: detected))
                    }
                }
            }
        } catch let error as ResamplerError {
            throw CaptureError.unsupportedFormat(source: audio.name, detail: error.description)
        }
        if let resampler, let origin {
            let detected = MediaTime.now()
            for event in segmenter.process(resampler.flush()) + segmenter.finish() {
                if case .utterance(let utterance) = event { emit(try utteranceEvent(utterance, origin: origin, detected: detected)) }
            }
        }
        emit(status("audio", .stopped, audio.name))
    }

    /// Features, fusion, and the event for one utterance.
    func utteranceEvent(_ utterance: Utterance, origin: MediaTime, detected: MediaTime) throws -> Event {
        let start = origin.advanced(bySamples: utterance.startSample, sampleRate: utterance.sampleRate)
        let end = origin.advanced(bySamples: utterance.endSample, sampleRate: utterance.sampleRate)
        var emotion: EmotionEstimate?
        var valence: Float?
        var audioUsed = false
        if let hubert, utterance.audio.count >= hubert.configuration.receptiveField {
            let pooled = try hubert.pooledHiddenStates(audio: utterance.audio, layers: configuration.layers)
            audioUsed = true
            if let fusion, fusionUsable {
                let features = Dictionary(uniqueKeysWithValues: pooled.map { ("HL\($0.key)", $0.value.scalars) })
                let (p, v) = fusion.predict(features, rows: 1)
                emotion = EmotionEstimate(labels: fusion.labels, probabilities: p[0])
                valence = max(-5, min(5, v[0]))
            }
        }
        let now = MediaTime.now()
        let latency = configuration.liveClock ? now - end : now - detected
        return .utterance(UtteranceEvent(
            seq: nextSequence(), time: Event.wallClock(), start: start.seconds, end: end.seconds, emotion: emotion, valence: valence,
            audio: audioUsed, face: false, faceFrames: 0, faceFramesMissing: 0,
            latencyMilliseconds: max(0, Int(latency.nanoseconds / 1_000_000))))
    }
}
