import Foundation
import NeuralKit
@testable import FusionTraining
@testable import StreamEngine
import TestSupport
import Testing

/// The torch model of tools/make_fusion_fixtures.py, with its parameters, outputs, loss and
/// autograd gradients.
enum FusionFixture {
    static let file = try! SafeTensorsFile(path: TestPaths.fixture("fusion/forward.safetensors"))
    static let inputs = [FusionInput(name: "HL18", size: 12), FusionInput(name: "HL19", size: 12), FusionInput(name: "HL20", size: 12),
                         FusionInput(name: "MR", size: 10), FusionInput(name: "RF", size: 14)]
    static let batch = 7

    static func architecture(_ structure: FusionStructure, _ head: FusionHead) -> FusionArchitecture {
        FusionArchitecture(inputs: inputs, structure: structure, head: head, alignedSize: 8, hiddenSize: 16, dropout: 0.3)
    }

    static func values(_ structure: FusionStructure, _ head: FusionHead, prefix: String = "") throws -> [String: [Float]] {
        let network = FusionNetwork(architecture: architecture(structure, head))
        var values: [String: [Float]] = [:]
        for (name, _) in network.parameterShapes {
            values[name] = try file.tensor("s\(structure.rawValue).\(head.rawValue).\(prefix)\(name)").scalars
        }
        return values
    }

    static var features: [String: [Float]] {
        Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, try! file.tensor("input.\($0.name)").scalars) })
    }
}

/// |a − e| ≤ 2e-5 + 1e-4·|e|: float32 GEMMs and softmaxes in a different order than torch's.
func expectNear(_ actual: [Float], _ expected: [Float], _ label: String, absolute: Float = 2e-5, relative: Float = 1e-4,
                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): count", sourceLocation: sourceLocation)
    let worst = zip(actual, expected).map { abs($0 - $1) - relative * abs($1) }.max() ?? 0
    #expect(worst <= absolute, "\(label): worst excess error \(worst)", sourceLocation: sourceLocation)
}

@Suite("Fusion parity with the torch model")
struct FusionParityTests {
    static let cases: [(FusionStructure, FusionHead)] = [(.parallel, .plain), (.parallel, .jdev), (.pairwise, .plain),
                                                         (.pairwise, .jdev), (.hierarchical, .plain), (.hierarchical, .jdev)]

    @Test("forward: emotion probabilities and valence of all structures and both heads", arguments: cases)
    func forward(structure: FusionStructure, head: FusionHead) throws {
        let model = try FusionModel(architecture: FusionFixture.architecture(structure, head), values: FusionFixture.values(structure, head))
        let (p, v) = model.predict(FusionFixture.features, rows: FusionFixture.batch)
        let prefix = "s\(structure.rawValue).\(head.rawValue).out."
        expectNear(p.flatMap { $0 }, try FusionFixture.file.tensor(prefix + "emotion").scalars, "\(structure) \(head) emotion")
        expectNear(v, try FusionFixture.file.tensor(prefix + "valence").scalars, "\(structure) \(head) valence")
    }

    @Test("backward: the loss and every parameter's gradient equal torch autograd's", arguments: cases)
    func gradients(structure: FusionStructure, head: FusionHead) throws {
        let architecture = FusionFixture.architecture(structure, head)
        let network = FusionNetwork(architecture: architecture)
        let values = try FusionFixture.values(structure, head)
        let parameters = Dictionary(uniqueKeysWithValues: network.parameterShapes.map { ($0.0, Parameter(name: $0.0, shape: $0.1, value: values[$0.0]!)) })
        let tape = Tape(training: false)
        let inputs = Dictionary(uniqueKeysWithValues: FusionFixture.inputs.map { ($0.name, tape.leaf(FusionFixture.batch, $0.size, FusionFixture.features[$0.name]!)) })
        let (emotion, valence) = network.forward(inputs, tape: tape, parameters: parameters)
        let labels = try FusionFixture.file.tensor("labels").scalars.map { Int($0) }
        let targets = try FusionFixture.file.tensor("targets").scalars
        let loss = tape.uncertaintyWeighted(emotion: tape.crossEntropy(probabilities: emotion, labels: labels),
                                            valence: tape.meanSquaredError(valence, targets: targets), rho: parameters["rho"]!)
        tape.backward(from: loss)
        let prefix = "s\(structure.rawValue).\(head.rawValue)."
        expectNear(loss.value, try FusionFixture.file.tensor(prefix + "out.loss").scalars, "loss")
        for (name, _) in network.parameterShapes {
            let expected = try FusionFixture.file.tensor(prefix + "grad." + name).scalars
            let scale = expected.map(abs).max() ?? 0
            expectNear(parameters[name]!.gradient, expected, "\(structure) \(head) ∂L/∂\(name)", absolute: 1e-5 + 1e-4 * scale)
        }
    }
}

/// |a − e| ≤ 1e-6 · max|e| over the tensor: the two paths run the same float32 math in the
/// same order, so they differ only by rounding (tanh in Double on the tape, in Float here).
func expectSame(_ actual: [Float], _ expected: [Float], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): count", sourceLocation: sourceLocation)
    let scale = expected.map(abs).max() ?? 0
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(scale > 0 && worst <= 1e-6 * scale, "\(label): worst error \(worst) at scale \(scale)", sourceLocation: sourceLocation)
}

@Suite("Fusion inference on plain buffers equals the tape's forward pass")
struct FusionInferenceParityTests {
    @Test("FusionModel.predict and Tape forward (training off) agree on random inputs and weights", arguments: FusionParityTests.cases)
    func predictEqualsTape(structure: FusionStructure, head: FusionHead) throws {
        let architecture = FusionFixture.architecture(structure, head)
        let network = FusionNetwork(architecture: architecture)
        let seed = UInt64(structure.rawValue * 10 + (head == .jdev ? 1 : 0))
        let parameters = network.initialParameters(seed: seed)
        var random = SeededGenerator(seed: seed &+ 99)
        let rows = 5
        let features = Dictionary(uniqueKeysWithValues: architecture.inputs.map { input in
            (input.name, (0..<(rows * input.size)).map { _ in Float.random(in: -2...2, using: &random) })
        })

        let tape = Tape(training: false)
        let inputs = features.mapValues { tape.leaf(rows, $0.count / rows, $0) }
        let (emotion, valence) = network.forward(inputs, tape: tape, parameters: parameters)

        let model = try FusionModel(architecture: architecture, values: parameters.mapValues(\.shapedValue))
        let (p, v) = model.predict(features, rows: rows)
        #expect(p.count == rows && v.count == rows)
        expectSame(p.flatMap { $0 }, emotion.value, "\(structure) \(head) emotion")
        expectSame(v, valence.value, "\(structure) \(head) valence")
    }
}

@Suite("Fusion metrics")
struct FusionMetricsTests {
    @Test("weighted F1 and MSE equal scikit-learn's on the fixture predictions")
    func sklearn() throws {
        let file = try SafeTensorsFile(path: TestPaths.fixture("fusion/metrics.safetensors"))
        let metrics = FusionMetrics(trueLabels: try file.tensor("true").scalars.map { Int($0) },
                                    predictedLabels: try file.tensor("predicted").scalars.map { Int($0) },
                                    trueValence: try file.tensor("true_valence").scalars,
                                    predictedValence: try file.tensor("predicted_valence").scalars, labelCount: 6)
        let f1 = Double(file.metadata["f1_weighted"]!)!, mse = Double(file.metadata["mse"]!)!
        #expect(abs(metrics.weightedF1 - f1) < 1e-12, "\(metrics.weightedF1) vs scikit-learn \(f1)")
        #expect(abs(metrics.valenceMSE - mse) < 1e-6 * mse, "\(metrics.valenceMSE) vs scikit-learn \(mse)")
        #expect(abs(metrics.combined - (f1 - 0.25 * mse)) < 1e-5)
    }

    @Test("perfect and hopeless predictions")
    func extremes() {
        let perfect = FusionMetrics(trueLabels: [0, 1, 2], predictedLabels: [0, 1, 2], trueValence: [1, 2, 3], predictedValence: [1, 2, 3], labelCount: 6)
        #expect(perfect.weightedF1 == 1 && perfect.valenceMSE == 0 && perfect.combined == 1)
        let wrong = FusionMetrics(trueLabels: [0, 0], predictedLabels: [1, 1], trueValence: [0, 0], predictedValence: [2, 2], labelCount: 6)
        #expect(wrong.weightedF1 == 0 && wrong.valenceMSE == 4 && wrong.combined == -1)
    }
}
