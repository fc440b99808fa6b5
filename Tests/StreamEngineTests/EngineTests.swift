import Locking
import CaptureFile
import Foundation
import MediaTypes
import MerdEvents
import StreamEngine
import TestSupport
import Testing

/// The engine in-process, with scripted stages (TestSupport) in place of the models.
@Suite("engine, in-process", .serialized)
struct EngineTests {
    /// Every event an engine emits, in the order it emitted them.
    final class Recorder: Sendable {
        private let events = Locked<[Event]>([])
        var all: [Event] { events.withLock { $0 } }
        func record(_ event: Event) { events.withLock { $0.append(event) } }

        var utterances: [UtteranceEvent] {
            all.compactMap { if case .utterance(let u) = $0 { return u } else { return nil } }
        }
        var statuses: [StatusEvent] {
            all.compactMap { if case .status(let s) = $0 { return s } else { return nil } }
        }
        var faces: [FaceEvent] {
            all.compactMap { if case .face(let f) = $0 { return f } else { return nil } }
        }
    }

    static let speech = SyntheticSpeech([.silence(seconds: 1), .speech(seconds: 0.8), .silence(seconds: 0.15), .speech(seconds: 0.6),
                                         .silence(seconds: 1), .speech(seconds: 0.5), .silence(seconds: 1)])

    static func engine(speech: (any SpeechEncoding)? = ScriptedSpeechEncoder(), faces: (any FaceAnalysing)? = ScriptedFaceAnalyser(),
                       fusion: (any FusionDecoding)? = ScriptedFusion(), configure: (inout EngineConfiguration) -> Void = { _ in })
        -> (Engine, Recorder)
    {
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        configure(&configuration)
        let recorder = Recorder()
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: speech, faces: faces, fusion: fusion)
        return (Engine(stages: stages, configuration: configuration, emit: recorder.record), recorder)
    }

    static func seq(_ event: Event) -> Int? {
        switch event {
        case .utterance(let e): return e.seq
        case .face(let e): return e.seq
        case .status(let e): return e.seq
        case .hello: return nil
        }
    }

    @Test("a recording: events numbered 1, 2, 3… in the order they leave; both utterances decoded, in order, between running and stopped")
    func eventsInOrder() async throws {
        let (engine, recorder) = Self.engine()
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        let events = recorder.all
        #expect(events.compactMap(Self.seq) == Array(1...events.count))
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        #expect(utterances[0].end <= utterances[1].start)
        #expect(abs(utterances[0].start - 1.0) < 0.15 && abs(utterances[1].start - 3.55) < 0.15, "\(utterances.map(\.start))")
        for utterance in utterances {
            #expect(utterance.emotion?.top == "happy")
            #expect(utterance.valence == 1.5)
            #expect(utterance.audio && utterance.face && utterance.faceFrames > 0)
        }
        // Audio and video each say running first and stopped last; no utterance after its source stopped.
        let audioStates = recorder.statuses.filter { $0.source == "audio" }.map(\.state)
        #expect(audioStates.first == .running && audioStates.last == .stopped)
        let audioStopped = events.firstIndex { if case .status(let s) = $0 { return s.source == "audio" && s.state == .stopped } else { return false } }!
        let lastUtterance = events.lastIndex { if case .utterance = $0 { return true } else { return false } }!
        #expect(lastUtterance < audioStopped)
        // Face events come only between utterances.
        for face in recorder.faces {
            #expect(!utterances.contains { face.mediaTime >= $0.start && face.mediaTime <= $0.end }, "face event at \(face.mediaTime) inside speech")
        }
    }

    @Test("face events carry the face encoder's valence (merd's scale) and fold AffectNet's eight classes onto the six; null valence without one")
    func faceValence() async throws {
        let affectNet = ScriptedFaceAnalyser(featureName: "EN", embedding: [0.5, -0.5],
                                             labels: ["anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"],
                                             probabilities: [0.05, 0.1, 0.05, 0.2, 0.3, 0.1, 0.15, 0.05], valenceArousal: (valence: 2.5, arousal: -1))
        let (engine, recorder) = Self.engine(faces: affectNet, fusion: nil)
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        try #require(!recorder.faces.isEmpty)
        for face in recorder.faces {
            #expect(face.valence == 2.5 && face.arousal == -1)
            let probabilities = try #require(face.emotion?.probabilities)
            #expect(zip(probabilities, [0.1, 0.2, 0.3, 0.15, 0.2, 0.05] as [Float]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(probabilities)")
        }
        let (plain, plainRecorder) = Self.engine(fusion: nil)
        try await plain.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        #expect(!plainRecorder.faces.isEmpty && plainRecorder.faces.allSatisfy { $0.valence == nil })
    }

    @Test("no face stage: the fusion stage needs MX, so emotion and valence are null; audio true, face false")
    func missingFaceGivesNulls() async throws {
        let fusion = ScriptedFusion()
        let (engine, recorder) = Self.engine(faces: nil, fusion: fusion)
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 10))
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.emotion == nil && utterance.valence == nil)
            #expect(utterance.audio && !utterance.face && utterance.faceFrames == 0)
        }
        #expect(fusion.seen.isEmpty, "the fusion stage is not asked without its inputs")
        #expect(recorder.statuses.allSatisfy { $0.source != "video" }, "no face stage, no video loop")
    }

    @Test("no speech stage: the fusion stage cannot decide, so emotion is the face model's own; valence null (no model gives it); audio false, face true")
    func missingVoiceGivesNulls() async throws {
        let (engine, recorder) = Self.engine(speech: nil)
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.emotion?.top == "happy" && utterance.source.emotion == "face:scripted-face")
            #expect(utterance.valence == nil && utterance.arousal == nil && utterance.source.valence == nil)
            #expect(!utterance.audio && utterance.face)
        }
    }

    @Test("a fusion stage trained without a modality decodes a missing face from zeros")
    func missingModalityAsZeros() async throws {
        let fusion = ScriptedFusion(decodesWithMissingModality: true)
        let (engine, recorder) = Self.engine(faces: nil, fusion: fusion)
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: nil)
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        #expect(utterances.allSatisfy { $0.emotion?.top == "happy" && !$0.face })
        let seen = fusion.seen
        try #require(seen.count == 2)
        #expect(seen.allSatisfy { $0["MX"] == [0, 0] && $0["HL18"]?.count == 4 })
    }

    @Test("live: a speculation is used when the end is confirmed at the same sample, and dropped when speech resumes")
    func speculationKeptAndDropped() async throws {
        // Speculating takes 300 ms: longer than the inner 150 ms pause (so speech resumes
        // during it) and than the 240 ms hangover (so the confirmation finds it running).
        let (engine, recorder) = Self.engine(speech: ScriptedSpeechEncoder(speculationMilliseconds: 300)) { $0.liveClock = true }
        let origin = MediaTime.now()
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples, paced: true, origin: origin),
                                 video: nil)
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        let counts = engine.speculations
        #expect(counts.used == 2, "both ends were speculated at the sample that became the end: \(counts)")
        #expect(counts.dropped >= 1, "the pause inside the first utterance: \(counts)")
    }

    @Test("live: an utterance waits for a stalled camera only as long as configured")
    func videoWaitTimesOut() async throws {
        for wait in [0, 600] {
            let (engine, recorder) = Self.engine { configuration in
                configuration.liveClock = true
                configuration.videoWaitMilliseconds = wait
            }
            let speech = SyntheticSpeech([.silence(seconds: 1), .speech(seconds: 0.5), .silence(seconds: 1)])
            // One frame at media time 0, then nothing: the video never reaches the utterance.
            let video = MemoryVideoSource(frames: 1, hangs: true)
            let elapsed = try await withThrowingTaskGroup(of: Duration?.self) { group in
                group.addTask { await engine.run(); return nil }
                group.addTask { try await engine.runVideo(video); return nil }
                try await Task.sleep(for: .milliseconds(100))  // the video loop is running
                let started = ContinuousClock.now
                try await engine.runAudio(MemoryAudioSource(samples: speech.samples))
                let elapsed = ContinuousClock.now - started
                engine.close()
                group.cancelAll()
                return elapsed
            }
            try #require(recorder.utterances.count == 1)
            if wait == 0 {
                #expect(elapsed < .milliseconds(500), "no wait configured: \(elapsed)")
            } else {
                #expect(elapsed >= .milliseconds(wait), "waited \(elapsed) for \(wait) ms")
                #expect(elapsed < .milliseconds(wait + 2000), "waited \(elapsed) for \(wait) ms")
            }
            #expect(recorder.utterances[0].faceFrames == 0)
        }
    }

    @Test("status events carry a slow consumer's real counts: a live replay drops frames a slow face stage cannot take")
    func statusCarriesCounts() async throws {
        let clip = TestPaths.sharedData("grid/bbaf2n.mpg")
        let file = RecordedFile(path: clip, pacing: .realTime)
        // 150 ms a frame against 25 frames a second: most frames must be dropped.
        let (engine, recorder) = Self.engine(faces: ScriptedFaceAnalyser(delayMilliseconds: 150)) { configuration in
            configuration.liveClock = true
            configuration.faceFramesPerSecond = 100
            configuration.statusIntervalSeconds = 0.5
        }
        try await engine.analyze(audio: nil, video: file.video)
        let video = recorder.statuses.filter { $0.source == "video" }
        let stopped = try #require(video.last)
        #expect(stopped.state == .stopped)
        #expect(stopped.droppedFrames > 20, "\(stopped.droppedFrames) frames dropped")
        #expect(stopped.droppedFrames == file.droppedFrames)
        let reported = video.filter { $0.state == .running && $0.droppedFrames > 0 }
        #expect(!reported.isEmpty, "a running status repeats the count while the source runs")
        #expect(reported.map(\.droppedFrames) == reported.map(\.droppedFrames).sorted())
    }

    @Test("an audio source's own counts reach its status events")
    func audioCounts() async throws {
        let (engine, recorder) = Self.engine { $0.statusIntervalSeconds = 0 }
        let audio = MemoryAudioSource(samples: Self.speech.samples)
        audio.setCounts(SourceStatusCounts(overruns: 3))
        try await engine.analyze(audio: audio, video: nil)
        let statuses = recorder.statuses.filter { $0.source == "audio" }
        #expect(statuses.last?.overruns == 3)
        #expect(statuses.contains { $0.state == .running && $0.overruns == 3 })
    }

    // MARK: Without a trained fusion model

    static let affectNetLabels = ["anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]

    static func affectNetFace() -> ScriptedFaceAnalyser {
        ScriptedFaceAnalyser(featureName: "EN", embedding: [1, 2, 3], labels: affectNetLabels,
                             probabilities: [0.05, 0.05, 0.05, 0.05, 0.6, 0.1, 0.05, 0.05], modelName: "enet_b0_8_va_mtl",
                             valenceArousal: (valence: 2, arousal: 1))
    }

    @Test("no fusion model: emotion is the face model's posterior over the utterance, valence and arousal the voice's and the face's in the documented proportions; `source` says which")
    func faceAndVoiceWithoutFusion() async throws {
        let (engine, recorder) = Self.engine(faces: Self.affectNetFace(), fusion: nil) { _ in }
        let voice = ScriptedSpeechAffect(modelName: "w2v2-msp-dim", valence: -1, arousal: 3)
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: ScriptedSpeechEncoder(), faces: Self.affectNetFace(),
                                  fusion: nil, speechAffect: voice)
        var configuration = engine.configuration
        configuration.liveClock = false
        let combined = Engine(stages: stages, configuration: configuration, emit: recorder.record)
        try await combined.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.emotion?.top == "happy")
            #expect(utterance.source.emotion == "face:enet_b0_8_va_mtl")
            // valence: 0.5 · −1 (voice) + 0.5 · 2 (face); arousal: 0.7 · 3 + 0.3 · 1.
            #expect(abs((utterance.valence ?? 99) - 0.5) < 1e-5 && utterance.source.valence == "speech+face")
            #expect(abs((utterance.arousal ?? 99) - 2.4) < 1e-5 && utterance.source.arousal == "speech+face")
        }
        let faces = recorder.faces
        try #require(!faces.isEmpty)
        for face in faces {
            #expect(face.valence == 2 && face.arousal == 1)
            #expect(face.probs8?.count == 8 && abs((face.probs8?["happiness"] ?? 0) - 0.6) < 1e-5)
            #expect(face.emotion?.top == "happy")
            #expect(face.source == EventSource(emotion: "face:enet_b0_8_va_mtl", valence: "face:enet_b0_8_va_mtl", arousal: "face:enet_b0_8_va_mtl"))
        }
        #expect(engine.labels == combined.labels)
    }

    @Test("several faces: face events list every track with its own estimate, the largest first; the single-face fields are the largest's")
    func severalFaces() async throws {
        let listener = FrameFaces.Track(id: 7, box: [40, 5, 6, 8], encodings: ["EN": [0, 0, 0]],
                                        probabilities: [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.65, 0.05], valence: -3, arousal: -1)
        let faces = ScriptedFaceAnalyser(featureName: "EN", embedding: [1, 2, 3], labels: Self.affectNetLabels,
                                         probabilities: [0.05, 0.05, 0.05, 0.05, 0.6, 0.1, 0.05, 0.05], modelName: "enet_b0_8_va_mtl",
                                         valenceArousal: (valence: 2, arousal: 1), others: [listener])
        let recorder = Recorder()
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: nil, faces: faces, fusion: nil)
        let engine = Engine(stages: stages, configuration: configuration, emit: recorder.record)
        try await engine.analyze(audio: nil, video: MemoryVideoSource(frames: 52))
        let events = recorder.faces
        try #require(!events.isEmpty)
        for event in events {
            #expect(event.faces == 2 && event.box == [2, 3, 10, 12] && event.emotion?.top == "happy" && event.valence == 2)
            let tracks = try #require(event.tracks)
            #expect(tracks.map(\.id) == [1, 7])
            #expect(tracks[0].box == [2, 3, 10, 12] && tracks[0].emotion?.top == "happy" && tracks[0].valence == 2 && tracks[0].arousal == 1)
            #expect(tracks[1].box == [40, 5, 6, 8] && tracks[1].emotion?.top == "sad" && tracks[1].valence == -3 && tracks[1].arousal == -1)
        }
        // On the wire: an array of objects under "tracks", the count still under "faces".
        let line = Event.face(events[0]).jsonLine()
        #expect(line.contains("\"faces\":2") && line.contains("\"tracks\":[{") && line.contains("\"id\":7"), "\(line)")
        let decoded = try JSONDecoder().decode(FaceEvent.self, from: Data(line.utf8))
        #expect(decoded.tracks?.map(\.id) == [1, 7])
    }

    @Test("a fusion model put in place while the engine runs decodes the utterances that end after it; one with other labels, or reading inputs this run does not compute, is refused and the running one decodes on")
    func replacedFusion() async throws {
        let recorder = Recorder()
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: ScriptedSpeechEncoder(), faces: ScriptedFaceAnalyser(),
                                  fusion: ScriptedFusion())
        let running = Locked<Engine?>(nil)
        let seen = Locked<(refusals: [FusionReplacementError], valenceAfterRefusals: Float?, replaced: Bool)>(([], nil, false))
        let engine = Engine(stages: stages, configuration: configuration) { event in
            recorder.record(event)
            // After the first utterance's event, before the second is decoded: two models that
            // cannot run here, then one that can.
            guard case .utterance = event, recorder.utterances.count == 1, let engine = running.withLock({ $0 }) else { return }
            let refused = [ScriptedFusion(valence: -3, labels: ["angry", "neutral", "happy", "sad", "worried", "surprise"]),
                           ScriptedFusion(inputs: [FusionInput(name: "HL9", size: 4), FusionInput(name: "MX", size: 2)], valence: -3)]
            for fusion in refused {
                do throws(FusionReplacementError) { try engine.replaceFusion(fusion) } catch { seen.withLock { $0.refusals.append(error) } }
            }
            let valence = (engine.stages.fusion as? ScriptedFusion)?.valence
            let replaced = (try? engine.replaceFusion(ScriptedFusion(valence: -2))) != nil
            seen.withLock { $0.valenceAfterRefusals = valence; $0.replaced = replaced }
        }
        running.withLock { $0 = engine }
        try await engine.analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        #expect(utterances.map(\.valence) == [1.5, -2], "the first by the model it began with, the second by the new one")
        #expect(utterances.allSatisfy { $0.source.emotion == "fusion" && $0.emotion?.top == "happy" })
        let (refusals, valenceAfterRefusals, replaced) = seen.withLock { $0 }
        #expect(refusals == [.labels(running: ScriptedFusion().labels, new: ["angry", "neutral", "happy", "sad", "worried", "surprise"]),
                             .inputs(missing: ["HL9"], computed: engine.availableInputs.sorted())], "\(refusals)")
        #expect(valenceAfterRefusals == 1.5 && replaced, "the refused ones left the running stage in place")
        #expect(refusals.first?.description.contains("restart merd") == true && refusals.last?.description.contains("\"HL9\"") == true,
                "each says what is wrong and what to do: \(refusals.map(\.description))")
    }

    @Test("voice only: valence and arousal are the speech model's, emotion null")
    func voiceOnly() async throws {
        let recorder = Recorder()
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: nil, faces: nil, fusion: nil,
                                  speechAffect: ScriptedSpeechAffect(modelName: "w2v2-msp-dim", valence: -1, arousal: 3))
        try await Engine(stages: stages, configuration: configuration, emit: recorder.record)
            .analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: nil)
        let utterances = recorder.utterances
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.emotion == nil && utterance.source.emotion == nil)
            #expect(utterance.valence == -1 && utterance.source.valence == "speech:w2v2-msp-dim")
            #expect(utterance.arousal == 3 && utterance.source.arousal == "speech:w2v2-msp-dim")
        }
    }

    /// The utterances of the test speech with a face (EN) and voice stage and `fusion` over HL18 and EN.
    static func fusedUtterances(valenceTrained: Bool) async throws -> [UtteranceEvent] {
        let recorder = Recorder()
        var configuration = EngineConfiguration()
        configuration.liveClock = false
        let fusion = ScriptedFusion(inputs: [FusionInput(name: "HL18", size: 4), FusionInput(name: "EN", size: 3)], valenceTrained: valenceTrained)
        let stages = EngineStages(makeSegmenter: { EnergySegmenter() }, speech: ScriptedSpeechEncoder(), faces: Self.affectNetFace(),
                                  fusion: fusion, speechAffect: ScriptedSpeechAffect(valence: -1, arousal: 3))
        try await Engine(stages: stages, configuration: configuration, emit: recorder.record)
            .analyze(audio: MemoryAudioSource(samples: Self.speech.samples), video: MemoryVideoSource(frames: 52))
        return recorder.utterances
    }

    @Test("a usable fusion model decides emotion and valence (`source` fusion); arousal still comes from voice and face")
    func fusionDecides() async throws {
        let utterances = try await Self.fusedUtterances(valenceTrained: true)
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.valence == 1.5 && utterance.source.emotion == "fusion" && utterance.source.valence == "fusion")
            #expect(abs((utterance.arousal ?? 99) - 2.4) < 1e-5 && utterance.source.arousal == "speech+face")
        }
    }

    @Test("a fusion model trained without valence labels (RAVDESS, say) decides emotion; valence comes from voice and face, never from its untrained output")
    func fusionWithoutValence() async throws {
        let utterances = try await Self.fusedUtterances(valenceTrained: false)
        try #require(utterances.count == 2)
        for utterance in utterances {
            #expect(utterance.emotion?.top == "happy" && utterance.source.emotion == "fusion")
            #expect(utterance.valence != nil && utterance.valence != 1.5 && utterance.source.valence == "speech+face", "\(utterance)")
        }
    }
}
