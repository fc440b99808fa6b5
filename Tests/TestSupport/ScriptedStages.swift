import Locking
import Foundation
import MediaTypes
import NeuralKit
import StreamEngine

/// A speech stage whose features are a checksum of exactly the samples it was given, so a
/// test can tell whether an utterance's features saw the right samples; its speculation
/// takes `speculationMilliseconds`, asking `stillWanted` every few milliseconds.
public struct ScriptedSpeechEncoder: SpeechEncoding {
    public let layers: [Int]
    public let speculationMilliseconds: Int

    public init(layers: [Int] = [18], speculationMilliseconds: Int = 0) {
        self.layers = layers
        self.speculationMilliseconds = speculationMilliseconds
    }

    public func beginUtterance() -> any UtteranceEncoding {
        ScriptedUtterance(layers: layers, speculationMilliseconds: speculationMilliseconds)
    }

    /// The features of `samples`: per layer [count, sum, sum of squares, layer].
    public static func features(_ samples: [Float], layers: [Int]) -> [Int: Tensor] {
        let sum = samples.reduce(Double(0)) { $0 + Double($1) }
        let squares = samples.reduce(Double(0)) { $0 + Double($1) * Double($1) }
        return Dictionary(uniqueKeysWithValues: layers.map { layer in
            (layer, Tensor(shape: [4], scalars: [Float(samples.count), Float(sum), Float(squares), Float(layer)]))
        })
    }
}

/// One utterance of `ScriptedSpeechEncoder`.
final class ScriptedUtterance: UtteranceEncoding {
    private let layers: [Int]
    private let speculationMilliseconds: Int
    private let state = Locked<(samples: [Float], speculation: (count: Int, features: [Int: Tensor])?, used: Bool)>(([], nil, false))

    init(layers: [Int], speculationMilliseconds: Int) {
        self.layers = layers
        self.speculationMilliseconds = speculationMilliseconds
    }

    func push(_ samples: [Float]) { state.withLock { $0.samples += samples } }

    func speculate(_ rest: [Float], stillWanted: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(speculationMilliseconds)
        repeat {
            guard stillWanted() else { return false }
            if ContinuousClock.now >= deadline { break }
            Thread.sleep(forTimeInterval: 0.002)
        } while true
        let all = state.withLock { $0.samples } + rest
        let features = ScriptedSpeechEncoder.features(all, layers: layers)
        state.withLock { $0.speculation = (all.count, features) }
        return true
    }

    func finish(rest: [Float]) -> [Int: Tensor]? {
        state.withLock { state in
            if let speculation = state.speculation, speculation.count == state.samples.count + rest.count {
                state.used = true
                return speculation.features
            }
            return ScriptedSpeechEncoder.features(state.samples + rest, layers: layers)
        }
    }

    var usedSpeculation: Bool { state.withLock { $0.used } }
}

/// A face stage that sees one face in every frame, with a fixed embedding and posterior.
public struct ScriptedFaceAnalyser: FaceAnalysing {
    public let featureNames: [String]
    public let labels: [String]
    public let embedding: [Float]
    public let probabilities: [Float]
    /// How long each frame takes (a slow face stage makes a live camera drop frames).
    public let delayMilliseconds: Int
    public let modelName: String
    /// What the face model says of valence and arousal ([-5, 5]); nil for a model without them.
    public let valenceArousal: (valence: Float, arousal: Float)?
    /// Further faces in every frame, after the primary one (track id 1).
    public let others: [FrameFaces.Track]

    public init(featureName: String = "MX", embedding: [Float] = [0.5, -0.5],
                labels: [String] = ["neutral", "angry", "happy", "sad", "worried", "surprise"],
                probabilities: [Float] = [0.1, 0.1, 0.6, 0.1, 0.05, 0.05], delayMilliseconds: Int = 0,
                modelName: String = "scripted-face", valenceArousal: (valence: Float, arousal: Float)? = nil,
                others: [FrameFaces.Track] = []) {
        featureNames = [featureName]
        self.labels = labels
        self.embedding = embedding
        self.probabilities = probabilities
        self.delayMilliseconds = delayMilliseconds
        self.modelName = modelName
        self.valenceArousal = valenceArousal
        self.others = others
    }

    public func makeSession() -> any FaceSession {
        let primary = FrameFaces.Track(id: 1, box: [2, 3, 10, 12], encodings: [featureNames[0]: embedding], probabilities: probabilities,
                                       valence: valenceArousal?.valence, arousal: valenceArousal?.arousal)
        return ScriptedFaceSession(observation: FrameFaces(faces: 1 + others.count, encodings: primary.encodings, probabilities: probabilities,
                                                           box: primary.box, valence: primary.valence, arousal: primary.arousal,
                                                           tracks: [primary] + others),
                                   delayMilliseconds: delayMilliseconds)
    }
}

final class ScriptedFaceSession: FaceSession {
    let observation: FrameFaces
    let delayMilliseconds: Int

    init(observation: FrameFaces, delayMilliseconds: Int) {
        self.observation = observation
        self.delayMilliseconds = delayMilliseconds
    }

    func analyze(_ image: RGBImage, time: Double) -> FrameFaces {
        if delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(delayMilliseconds) / 1000) }
        return observation
    }
}

/// A fusion stage with fixed answers: `happy` at 0.7 and valence 1.5 (or `valence`) whatever
/// its inputs, so a test sees only whether the engine decided to decode, and with which.
public struct ScriptedFusion: FusionDecoding {
    public let inputs: [FusionInput]
    public let decodesWithMissingModality: Bool
    public let valenceTrained: Bool
    public let labels: [String]
    public let valence: Float
    /// The features of every decode, in order.
    public var seen: [[String: [Float]]] { decodes.value.withLock { $0 } }
    private let decodes = Decodes()

    public init(inputs: [FusionInput] = [FusionInput(name: "HL18", size: 4), FusionInput(name: "MX", size: 2)],
                decodesWithMissingModality: Bool = false, valenceTrained: Bool = true, valence: Float = 1.5,
                labels: [String] = ["neutral", "angry", "happy", "sad", "worried", "surprise"]) {
        self.inputs = inputs
        self.decodesWithMissingModality = decodesWithMissingModality
        self.valenceTrained = valenceTrained
        self.valence = valence
        self.labels = labels
    }

    public func predict(_ features: [String: [Float]], rows: Int) -> (probabilities: [[Float]], valence: [Float]) {
        decodes.value.withLock { $0.append(features) }
        let happy = labels.firstIndex(of: "happy") ?? 0
        let probabilities = labels.indices.map { $0 == happy ? Float(0.7) : 0.3 / Float(labels.count - 1) }
        return ([[Float]](repeating: probabilities, count: rows), [Float](repeating: valence, count: rows))
    }
}

final class Decodes: Sendable {
    let value = Locked<[[String: [Float]]]>([])
}

/// A speech-emotion stage that says the same valence and arousal of every utterance with
/// speech in it.
public struct ScriptedSpeechAffect: SpeechAffectEstimating {
    public let modelName: String
    public let answer: AffectEstimate

    public init(modelName: String = "scripted-voice", valence: Float, arousal: Float) {
        self.modelName = modelName
        answer = AffectEstimate(valence: valence, arousal: arousal)
    }

    public func affect(ofSpeech samples: [Float]) -> AffectEstimate? { samples.isEmpty ? nil : answer }
}
