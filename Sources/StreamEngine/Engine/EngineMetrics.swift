import CoreMetrics

/// What the engine measures of itself, through swift-metrics: whatever backend the process
/// bootstrapped (`merd run`: Prometheus) gets them; without one they cost nothing.
///
/// `merd_inference_seconds{stage}` times each model stage as it runs on its compute queue:
/// `speech_window` (HuBERT over one window while an utterance is spoken), `speech_finish`
/// (the utterance's last window and pooling, on the latency path), `speech_affect`, `fusion`
/// and `face` (one frame through detection, alignment and the face encoders).
/// `merd_utterance_finish_seconds` times the engine's share of an event's latency: from the
/// segmenter's confirmation of an utterance's end to its event (the rest is the hangover).
struct EngineMetrics: Sendable {
    let speechWindow = Timer(label: "merd_inference_seconds", dimensions: [("stage", "speech_window")])
    let speechFinish = Timer(label: "merd_inference_seconds", dimensions: [("stage", "speech_finish")])
    let speechAffect = Timer(label: "merd_inference_seconds", dimensions: [("stage", "speech_affect")])
    let fusion = Timer(label: "merd_inference_seconds", dimensions: [("stage", "fusion")])
    let face = Timer(label: "merd_inference_seconds", dimensions: [("stage", "face")])
    let utteranceFinish = Timer(label: "merd_utterance_finish_seconds")
    /// Video frames received, and those the face stage analysed (the rest are sampled out:
    /// `engine.face_fps`). Their rates are the frames per second read and analysed.
    let framesReceived = Counter(label: "merd_video_frames_total")
    let framesAnalysed = Counter(label: "merd_video_frames_analysed_total")
    /// Utterances left unreported because no visible face spoke them (`engine.require_visible_speaker`).
    let utterancesWithoutVisibleSpeaker = Counter(label: "merd_utterances_unseen_speaker_total")

    /// Runs `body`, recording how long it took in `timer`.
    @inline(__always)
    static func timed<T>(_ timer: Timer, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = (ContinuousClock.now - start).components
            timer.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        }
        return try body()
    }
}
