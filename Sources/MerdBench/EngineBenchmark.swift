import Locking
import MediaTypes
import MerdEvents
import StreamEngine
import Synchronization

/// The daemon's engine on a live-paced stream (`merd bench engine`): speech delivered as a
/// microphone would and, with face models, a looped video as a camera would; each utterance
/// event's latency recorded as it arrives.
package struct EngineBenchmark: Sendable {
    /// An event's end within this of a speech end the stream was made with is that utterance's;
    /// the segmenter's tail after the last speech frame is shorter.
    package static let matchToleranceSeconds = 0.3

    package let stages: EngineStages
    package let configuration: EngineConfiguration
    package let speech: BenchmarkSpeech
    /// Pictures the camera loops; nil: audio only.
    package let video: [RGBImage]?
    /// From making the sources to the stream's first sample, so that it is not late already.
    package let leadIn: MediaDuration

    package init(stages: EngineStages, configuration: EngineConfiguration, speech: BenchmarkSpeech, video: [RGBImage]?,
                 leadIn: MediaDuration = MediaDuration(milliseconds: 200)) {
        self.stages = stages
        self.configuration = configuration
        self.speech = speech
        self.video = video
        self.leadIn = leadIn
    }

    /// Plays the stream through the engine in real time (its length, plus the engine's finish).
    package func run() async throws -> EngineBenchmarkResult {
        let pacer = RealTimePacer(start: MediaTime.now() + leadIn)
        let audio = PacedAudio(samples: speech.samples, pacer: pacer)
        let camera = video.map { PacedVideo(images: $0, pacer: pacer, seconds: speech.seconds) }
        let latencies = Locked<[Int]>([])
        // Each utterance event's end (seconds into the stream) and when it arrived.
        let arrivals = Locked<[(end: Double, at: MediaTime)]>([])
        let faceEvents = Atomic<Int>(0)
        let engine = Engine(stages: stages, configuration: configuration) { event in
            switch event {
            case .utterance(let u):
                let at = MediaTime.now()
                latencies.withLock { $0.append(u.latencyMilliseconds) }
                arrivals.withLock { $0.append((u.end - pacer.start.seconds, at)) }
            case .face: faceEvents.add(1, ordering: .relaxed)
            default: break
            }
        }
        try await engine.analyze(audio: audio, video: camera)
        // The event's latency counts from the segmenter's end, which keeps a short tail after
        // the last speech frame; a listener waits from the end of the speech itself, known here
        // from how the stream was made.
        let fromSpeech = arrivals.withLock { $0 }.compactMap { arrival -> Int? in
            guard let end = speech.speechEnd(near: arrival.end, tolerance: Self.matchToleranceSeconds) else { return nil }
            let spoken = pacer.clockTime(of: MediaTime.zero.advanced(bySamples: Int(end * Double(BenchmarkSpeech.sampleRate)),
                                                                     sampleRate: BenchmarkSpeech.sampleRate))
            return Int((arrival.at - spoken).nanoseconds / 1_000_000)
        }
        let speculations = engine.speculations
        return EngineBenchmarkResult(
            latenciesMilliseconds: latencies.withLock { $0 }, fromSpeechMilliseconds: fromSpeech,
            finishMicroseconds: engine.recentFinishMicroseconds,
            faceEvents: faceEvents.load(ordering: .relaxed), droppedFrames: camera?.droppedFrames ?? 0,
            speculations: speculations)
    }
}

/// What one ``EngineBenchmark`` run saw.
package struct EngineBenchmarkResult: Sendable, Equatable {
    /// Last windows run ahead of the confirmed end: how many, how many used and dropped, and their compute time.
    package typealias Speculations = SpeculationCounts

    /// Each utterance event's own latency (from the segmenter's end), in arrival order.
    package var latenciesMilliseconds: [Int]
    /// From the end of the speech itself to each event's arrival, for the events matched to an
    /// utterance of the stream, in arrival order.
    package var fromSpeechMilliseconds: [Int]
    /// The engine's share of each event's latency, from the segmenter's confirmation of the
    /// end to the event (`Engine.recentFinishMicroseconds`), in order.
    package var finishMicroseconds: [Int]
    package var faceEvents: Int
    /// Camera frames skipped because the engine took them more than a frame period late.
    package var droppedFrames: Int
    package var speculations: Speculations

    /// Statistics of ``latenciesMilliseconds``; nil when no utterance was found.
    package var latency: LatencyStatistics? { LatencyStatistics(latenciesMilliseconds) }
    /// Statistics of ``fromSpeechMilliseconds``; nil when no event matched.
    package var fromSpeech: LatencyStatistics? { LatencyStatistics(fromSpeechMilliseconds) }
}
