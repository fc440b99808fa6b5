import FusionTraining
import MerdDaemon
import ArgumentParser
import CaptureFile
import Foundation
import Logging
import MediaTypes
import NeuralKit
import StreamEngine
import Synchronization

/// `merd bench engine`: the daemon's engine on a live-paced stream of real speech and faces,
/// measuring the latency from the end of each utterance to its event.
struct BenchEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "End-to-end latency (end of speech → utterance event) on live-paced speech and video.",
        discussion: """
            Speech: EmoDB utterances joined into 2–6 s utterances with --gap seconds of silence between them, \
            paced as a microphone delivers it (20 ms chunks); video: a GRID clip looped at 25 fps, paced as a \
            camera. The engine runs as `merd run` does: HuBERT streamed during speech, the face pipeline \
            sampled at --face-fps, fusion when a model is there. Reports each utterance's latency, their median \
            and 90th percentile, and whether latency grows over the run (a backlog).
            """)

    @Option(help: "HuBERT model directory (e.g. random HuBERT-large weights from Benchmarks/hubert).")
    var model: String
    @Option(help: "Models directory for the face models (default: $MERD_MODELS, …); none for audio only.")
    var models: String?
    @Option(help: "The shared data folder (grid/, emodb/).")
    var data: String = "../shared/data"
    @Option(help: "Utterances to play.")
    var utterances = 12
    @Option(help: "Seconds of silence between utterances (0.3 for nearly continuous speech).")
    var gap: Double = 1.5
    @Option(help: "HuBERT window while speech goes on, seconds (merd.toml: engine.speech_window_seconds).")
    var window: Double = HuBERTWindowing.defaultWindowSeconds
    @Option(help: "Overlap of consecutive windows, seconds (engine.speech_overlap_seconds).")
    var overlap: Double = HuBERTWindowing.defaultOverlapSeconds
    @Flag(name: .customLong("no-speculation"), help: "Start the last window only when the end of speech is confirmed.")
    var noSpeculation = false
    @Option(name: .customLong("speculate-after"), help: "Milliseconds of pause before the last window starts ahead of the confirmed end.")
    var speculateAfter = EngineConfiguration().speculateAfterPauseMilliseconds ?? 0
    @Option(name: .customLong("face-fps"), help: "Frames the face pipeline analyses per second.")
    var faceFramesPerSecond: Double = 10
    @Option(help: "Compute threads (OpenBLAS).")
    var threads = 2
    @Option(help: "HuBERT layers pooled (the highest one bounds the work).")
    var layers: String = "18,19,20"

    func run() async throws {
        let layerList = try CommaSeparated.layers(layers)
        guard utterances > 0, gap >= 0.3, window > overlap, overlap >= 0 else {
            throw CommandFailure.usage("--utterances positive, --gap ≥ 0.3 s, --window > --overlap ≥ 0")
        }
        BLAS.threadCount = threads
        let logger = Logger(label: "merd")
        let loaded = try EngineModels.load(root: models.map { $0 == "none" ? "/nonexistent" : $0 } ?? ModelsDirectory.resolve(nil),
                                           layers: layerList, hubertDirectory: model, faces: models != "none", logger: logger)
        var settings = EngineConfiguration()
        settings.layers = layerList
        settings.windowing = HuBERTWindowing(windowSeconds: window, overlapSeconds: overlap)
        settings.faceFramesPerSecond = faceFramesPerSecond
        settings.speculateAfterPauseMilliseconds = noSpeculation ? nil : speculateAfter

        let (speech, spans, speechEnds) = try speechStream()
        let frames: [RGBImage]
        do { frames = try Self.decode(data + "/grid/bbaf2n.mpg") } catch { throw CommandFailure.usage(error.description) }
        let seconds = Double(speech.count) / 16000
        print(String(format: "merd engine: %d utterances of %@ s, gaps %.1f s, %.0f s in all; HuBERT window %.2f s (overlap %.2f), last window %@; layers %@; face models %@; OpenBLAS %@, %d threads",
                     spans.count, spans.map { String(format: "%.1f", $0) }.joined(separator: " "), gap, seconds, window, overlap,
                     noSpeculation ? "when the end is confirmed" : "from the start of the pause", layers, loaded.vision == nil ? "none" : "yes", BLAS.coreName, threads))
        let start = MediaTime.now() + MediaDuration(milliseconds: 200)
        let audio = PacedAudio(samples: speech, start: start)
        let video = PacedVideo(images: frames, start: start, seconds: seconds)
        let latencies = Mutex<[Int]>([])
        // Each event's end (seconds into the stream) and when it arrived.
        let arrivals = Mutex<[(end: Double, at: MediaTime)]>([])
        let faceEvents = Atomic<Int>(0)
        let engine = Engine(hubert: loaded.hubert, fusion: loaded.fusion, vision: loaded.vision, configuration: settings, logger: logger) { event in
            switch event {
            case .utterance(let u):
                let at = MediaTime.now()
                latencies.withLock { $0.append(u.latencyMilliseconds) }
                arrivals.withLock { $0.append((u.end - start.seconds, at)) }
            case .face: faceEvents.add(1, ordering: .relaxed)
            default: break
            }
        }
        try await engine.analyze(audio: audio, video: loaded.vision == nil ? nil : video)
        let measured = latencies.withLock { $0 }
        guard !measured.isEmpty else { throw CommandFailure.runtime("no utterance was found in the stream") }
        let sorted = measured.sorted()
        let half = measured.count / 2
        let early = measured.prefix(max(1, half)).reduce(0, +) / max(1, half), late = measured.suffix(max(1, half)).reduce(0, +) / max(1, half)
        print("merd engine latencies (ms, in order): \(measured.map(String.init).joined(separator: " "))")
        print(String(format: "merd engine: %d utterance events, %d face events; latency median %d ms, p90 %d ms, max %d ms; mean first half %d ms, second half %d ms%@",
                     measured.count, faceEvents.load(ordering: .relaxed), sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 9 / 10)],
                     sorted.last!, early, late, late > early + 300 ? " (growing: a backlog)" : " (steady: keeps up)"))
        let speculations = engine.speculations
        print("merd engine: \(speculations.run) last windows run ahead of the confirmed end, \(speculations.used) of them used; "
              + "\(speculations.dropped) dropped when speech resumed")
        // The event's latency counts from the segmenter's end, which keeps a short tail after
        // the last speech frame; a listener waits from the end of the speech itself, known here
        // from how the stream was made.
        let fromSpeech = arrivals.withLock { $0 }.compactMap { arrival -> Int? in
            guard let truth = speechEnds.min(by: { abs($0 - arrival.end) < abs($1 - arrival.end) }), abs(truth - arrival.end) < 0.3 else { return nil }
            return Int((arrival.at - start.advanced(bySamples: Int(truth * 16000), sampleRate: 16000)).nanoseconds / 1_000_000)
        }.sorted()
        if !fromSpeech.isEmpty {
            print(String(format: "merd engine: from the end of the speech itself (%d events matched): median %d ms, p90 %d ms",
                         fromSpeech.count, fromSpeech[fromSpeech.count / 2], fromSpeech[min(fromSpeech.count - 1, fromSpeech.count * 9 / 10)]))
        }
        print("merd peak RSS: \(ProcessMemory.peakResidentMiB) MiB")
    }

    static func decode(_ path: String) throws(CaptureError) -> [RGBImage] {
        let reader = try VideoFileReader(path: path)
        var frames: [RGBImage] = []
        while let frame = try reader.nextFrame() { if let image = RGBImage(frame) { frames.append(image) } }
        return frames
    }

    /// EmoDB speech trimmed to its voiced span, joined into utterances of 2–6 s, with silences;
    /// also where each utterance's speech ends, in seconds into the stream.
    private func speechStream() throws -> (samples: [Float], spans: [Double], ends: [Double]) {
        let folder = data + "/emodb/wav"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".wav") }.sorted()
        var pieces: [[Float]] = []
        for file in files.prefix(utterances * 3) {
            let piece = SegmentationCorpus.Piece(oracle: try ClipFeatureExtractor.audio(folder + "/" + file))
            pieces.append(Array(piece.audio[piece.speechStart..<piece.speechEnd]))
        }
        var samples = [Float](repeating: 0, count: 16000)
        var spans: [Double] = []
        var ends: [Double] = []
        var index = 0
        for u in 0..<utterances {
            // 1, 2 or 3 pieces: 2–6 s of speech, joined by 50 ms (shorter than the segmenter's hangover).
            var utterance: [Float] = []
            for p in 0...(u % 3) where index < pieces.count {
                if p > 0 { utterance += [Float](repeating: 0, count: 800) }
                utterance += pieces[index]
                index += 1
            }
            if utterance.count < 32000, index < pieces.count {
                utterance += [Float](repeating: 0, count: 800) + pieces[index]
                index += 1
            }
            spans.append(Double(utterance.count) / 16000)
            ends.append(Double(samples.count + utterance.count) / 16000)
            samples += utterance + [Float](repeating: 0, count: Int(gap * 16000))
        }
        return (samples + [Float](repeating: 0, count: 16000), spans, ends)
    }
}

/// Samples delivered as a microphone would: 20 ms chunks, each when its last sample has been
/// "captured" on the monotonic clock.
struct PacedAudio: AudioSource {
    let samples: [Float]
    let start: MediaTime
    var name: String { "bench:speech" }

    func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let samples = samples, start = start
        let position = Mutex(0)
        return AsyncThrowingStream {
            let offset = position.withLock { p -> Int in defer { p += 320 }; return p }
            guard offset < samples.count else { return nil }
            let chunk = Array(samples[offset..<min(offset + 320, samples.count)])
            let time = start.advanced(bySamples: offset, sampleRate: 16000)
            let due = time.advanced(bySamples: chunk.count, sampleRate: 16000) - MediaTime.now()
            if due.nanoseconds > 0 { try await Task.sleep(for: .nanoseconds(due.nanoseconds)) }
            return AudioChunk(samples: chunk, sampleRate: 16000, channels: 1, time: time)
        }
    }
}

/// Frames looped at 25 fps, each delivered at its time; late frames are skipped as a camera's
/// latest-wins queue would.
struct PacedVideo: VideoSource {
    let images: [RGBImage]
    let start: MediaTime
    let seconds: Double
    var name: String { "bench:video" }

    func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let images = images, start = start, count = Int(seconds * 25)
        let index = Mutex(0)
        return AsyncThrowingStream {
            while true {
                let i = index.withLock { i -> Int in defer { i += 1 }; return i }
                guard i < count else { return nil }
                let time = start + MediaDuration(seconds: Double(i) / 25)
                let wait = time - MediaTime.now()
                if wait.nanoseconds < -40_000_000 { continue }  // a frame period late: a newer one is due
                if wait.nanoseconds > 0 { try await Task.sleep(for: .nanoseconds(wait.nanoseconds)) }
                let image = images[i % images.count]
                return try VideoFrame(packed: image.pixels, width: image.width, height: image.height, format: .rgb24, time: time)
            }
        }
    }
}
