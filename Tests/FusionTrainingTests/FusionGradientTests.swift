import Foundation
@testable import FusionTraining
@testable import StreamEngine
import TestSupport
import Testing

/// Finite-difference checks of every operation's backward pass: for a scalar function of a
/// tape, ∂f/∂x from `backward` against (f(x+h) − f(x−h)) / 2h on every element.
@Suite("Fusion gradients against finite differences")
struct FusionGradientTests {
    /// Runs `build` on fresh tapes; checks the gradient of each input leaf. Float32 central
    /// differences with h = 1e-2 are good to about 1e-3 relative on these smooth functions
    /// (ReLU's kink is avoided by keeping inputs away from 0).
    static func check(_ label: String, shapes: [(Int, Int)], seed: UInt64 = 1, sourceLocation: SourceLocation = #_sourceLocation,
                      _ build: (Tape, [Node]) -> Node) {
        var random = SeededGenerator(seed: seed)
        let values = shapes.map { shape in
            (0..<(shape.0 * shape.1)).map { _ in Float.random(in: 0.2...1, using: &random) * (Bool.random(using: &random) ? 1 : -1) }
        }
        func evaluate(_ values: [[Float]]) -> (Float, [[Float]]) {
            let tape = Tape(training: false)
            let leaves = zip(shapes, values).map { tape.leaf($0.0, $0.1, $1) }
            let output = build(tape, leaves)
            tape.backward(from: output)
            return (output.value[0], leaves.map(\.gradient))
        }
        let (_, analytic) = evaluate(values)
        let h: Float = 1e-2
        var worst: Float = 0
        for (l, leaf) in values.enumerated() {
            for i in leaf.indices {
                var plus = values, minus = values
                plus[l][i] += h
                minus[l][i] -= h
                let numeric = (evaluate(plus).0 - evaluate(minus).0) / (2 * h)
                worst = max(worst, abs(numeric - analytic[l][i]) / max(1, abs(numeric)))
            }
        }
        #expect(worst < 3e-3, "\(label): worst relative gradient error \(worst)", sourceLocation: sourceLocation)
    }

    /// Reduces a node to a scalar with fixed, non-uniform weights (so every element matters).
    static func scalar(_ tape: Tape, _ x: Node) -> Node {
        let weights = Parameter(name: "w", shape: [1, x.columns], value: (0..<x.columns).map { 0.3 + 0.1 * Float($0) })
        let bias = Parameter(name: "b", shape: [1], value: [0])
        let perRow = tape.linear(x, weight: weights, bias: bias)
        return tape.meanSquaredError(perRow, targets: (0..<x.rows).map { Float($0) * 0.1 })
    }

    /// The same check for parameters: ∂f/∂θ from `backward` against central differences of f
    /// with each parameter element nudged.
    static func checkParameters(_ label: String, _ parameters: [Parameter], sourceLocation: SourceLocation = #_sourceLocation,
                                _ build: (Tape) -> Node) {
        func loss() -> Float { build(Tape(training: false)).value[0] }
        for p in parameters { p.gradient = [Float](repeating: 0, count: p.value.count) }
        let tape = Tape(training: false)
        tape.backward(from: build(tape))
        let h: Float = 1e-2
        var worst: Float = 0
        for p in parameters {
            for i in p.value.indices {
                let original = p.value[i]
                p.value[i] = original + h
                let up = loss()
                p.value[i] = original - h
                let down = loss()
                p.value[i] = original
                let numeric = (up - down) / (2 * h)
                worst = max(worst, abs(numeric - p.gradient[i]) / max(1, abs(numeric)))
            }
        }
        #expect(worst < 3e-3, "\(label): worst relative gradient error \(worst)", sourceLocation: sourceLocation)
    }

    @Test("linear: input, weight and bias")
    func linear() {
        var random = SeededGenerator(seed: 9)
        let weight = Parameter(name: "w", shape: [3, 4], value: (0..<12).map { _ in Float.random(in: -1...1, using: &random) })
        let bias = Parameter(name: "b", shape: [3], value: [0.1, -0.2, 0.3])
        Self.check("linear input", shapes: [(5, 4)]) { tape, x in Self.scalar(tape, tape.linear(x[0], weight: weight, bias: bias)) }
        let input = (0..<20).map { Float($0 % 7) * 0.2 - 0.5 }
        Self.checkParameters("linear weight and bias", [weight, bias]) { tape in
            Self.scalar(tape, tape.linear(tape.leaf(5, 4, input), weight: weight, bias: bias))
        }
    }

    @Test("a gradient marked zero, as Adam leaves it, is written by the step's first operation and never added to; unmarked, a second use adds; Adam reads a marked one as zero")
    func gradientMarkedZero() {
        let weight = Parameter(name: "w", shape: [3, 4], value: (0..<12).map { Float($0) * 0.1 - 0.5 }, inputMajor: true)
        let bias = Parameter(name: "b", shape: [3], value: [0.1, -0.2, 0.3])
        let input = (0..<20).map { Float($0 % 7) * 0.2 - 0.5 }
        func step() -> (dw: [Float], db: [Float]) {
            let tape = Tape(training: false)
            tape.backward(from: Self.scalar(tape, tape.linear(tape.leaf(5, 4, input), weight: weight, bias: bias)))
            return (weight.gradient, bias.gradient)
        }
        let first = step()
        #expect(first.dw.contains { $0 != 0 } && first.db.contains { $0 != 0 })
        // What Adam leaves: old values still in memory, marked as zeros.
        weight.gradient = weight.gradient.map { $0 + 1000 }
        bias.gradient = bias.gradient.map { $0 - 1000 }
        (weight.gradientIsZero, bias.gradientIsZero) = (true, true)
        let second = step()
        #expect(second.dw == first.dw && second.db == first.db, "the stale values leaked into the sums")
        // A product that adds may sum in another order than one that writes: equal to rounding.
        let third = step()
        let worst = zip(third.dw + third.db, (first.dw + first.db).map { 2 * $0 }).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-6, "a second use adds: off by \(worst)")

        // Adam on a marked gradient full of stale values equals Adam on real zeros.
        let marked = Parameter(name: "m", shape: [4], value: [0.5, -1, 2, 0.25])
        let zeros = Parameter(name: "z", shape: [4], value: [0.5, -1, 2, 0.25])
        marked.gradient = [7, 7, 7, 7]
        marked.gradientIsZero = true
        zeros.gradientIsZero = false
        var options = FusionTrainingOptions()
        options.weightDecay = 0.01
        FusionTrainer.adam([marked, zeros], step: 1, options: options)
        #expect(marked.value == zeros.value && marked.firstMoment == zeros.firstMoment && marked.secondMoment == zeros.secondMoment)
        #expect(marked.value != [0.5, -1, 2, 0.25], "weight decay moved it")
        #expect(marked.gradientIsZero && zeros.gradientIsZero)
    }

    @Test("linear with its weight held input-major: the same values and gradients as torch's layout, and the same gradients as finite differences")
    func inputMajorLinear() {
        var random = SeededGenerator(seed: 11)
        let values = (0..<12).map { _ in Float.random(in: -1...1, using: &random) }
        let plain = Parameter(name: "w", shape: [3, 4], value: values)
        let held = Parameter(name: "w", shape: [3, 4], value: values, inputMajor: true)
        #expect(held.value != values && held.shapedValue == values, "held transposed, read back in shape order")
        let bias = Parameter(name: "b", shape: [3], value: [0.1, -0.2, 0.3])
        let input = (0..<20).map { Float($0 % 7) * 0.2 - 0.5 }
        func run(_ weight: Parameter) -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
            weight.gradient = [Float](repeating: 0, count: 12)
            bias.gradient = [0, 0, 0]
            let tape = Tape(training: false)
            let x = tape.leaf(5, 4, input)
            let y = tape.linear(x, weight: weight, bias: bias)
            tape.backward(from: Self.scalar(tape, y))
            let dw = weight.inputMajor ? Parameter.transposed(weight.gradient, rows: 4, columns: 3) : weight.gradient
            return (y.value, x.gradient, dw, bias.gradient)
        }
        let (a, b) = (run(plain), run(held))
        for (label, left, right) in [("y", a.y, b.y), ("dx", a.dx, b.dx), ("dW", a.dw, b.dw), ("db", a.db, b.db)] {
            let worst = zip(left, right).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-5, "\(label): \(worst)")
        }
        Self.check("input-major linear input", shapes: [(5, 4)]) { tape, x in Self.scalar(tape, tape.linear(x[0], weight: held, bias: bias)) }
        Self.checkParameters("input-major linear weight and bias", [held, bias]) { tape in
            Self.scalar(tape, tape.linear(tape.leaf(5, 4, input), weight: held, bias: bias))
        }
    }

    @Test("dropout while training: the gradient passes where the mask kept a value, scaled, and nowhere else")
    func dropoutGradient() {
        let input = (0..<40).map { Float($0 % 9) * 0.3 + 0.1 }
        let tape = Tape(training: true, seed: 7)
        let x = tape.leaf(5, 8, input)
        let y = tape.dropout(x, probability: 0.5)
        tape.backward(from: Self.scalar(tape, y))
        // A kept value is x · 2 (1/(1 − p)) and passes 2 · ∂L/∂y back; a dropped one passes 0.
        var kept = 0
        for i in input.indices {
            if y.value[i] == 0 {
                #expect(x.gradient[i] == 0, "dropped element \(i)")
            } else {
                kept += 1
                #expect(abs(y.value[i] - 2 * input[i]) < 1e-6 && abs(x.gradient[i] - 2 * y.gradient[i]) < 1e-6, "kept element \(i)")
            }
        }
        #expect(y.gradient.contains { $0 != 0 }, "a loss that depends on y")
        #expect(kept > 5 && kept < 35, "about half kept: \(kept)")
    }

    @Test("relu, tanh, softmax, concatenation, weighted sum")
    func elementwise() {
        Self.check("relu", shapes: [(4, 5)]) { tape, x in Self.scalar(tape, tape.relu(x[0])) }
        Self.check("tanh", shapes: [(4, 5)]) { tape, x in Self.scalar(tape, tape.tanh(x[0])) }
        Self.check("softmax", shapes: [(4, 5)]) { tape, x in Self.scalar(tape, tape.softmax(x[0])) }
        Self.check("concatenate", shapes: [(3, 2), (3, 4)]) { tape, x in Self.scalar(tape, tape.concatenate(x)) }
        Self.check("weighted sum", shapes: [(3, 4), (3, 4), (3, 2)]) { tape, x in
            Self.scalar(tape, tape.weightedSum([x[0], x[1]], weights: tape.softmax(x[2])))
        }
    }

    @Test("cross-entropy, MSE and the uncertainty-weighted loss (including ρ)")
    func losses() {
        Self.check("cross-entropy", shapes: [(4, 6)]) { tape, x in tape.crossEntropy(probabilities: tape.softmax(x[0]), labels: [0, 3, 5, 2]) }
        Self.check("mse", shapes: [(4, 1)]) { tape, x in tape.meanSquaredError(x[0], targets: [1, -2, 0.5, 3]) }
        Self.check("uncertainty, through the losses", shapes: [(1, 1), (1, 1)]) { tape, x in
            let rho = Parameter(name: "rho", shape: [2], value: [0.3, -0.4])
            return tape.uncertaintyWeighted(emotion: tape.relu(x[0]), valence: tape.relu(x[1]), rho: rho)
        }
        let rho = Parameter(name: "rho", shape: [2], value: [0.3, -0.4])
        Self.checkParameters("uncertainty, through ρ", [rho]) { tape in
            tape.uncertaintyWeighted(emotion: tape.leaf(1, 1, [1.7]), valence: tape.leaf(1, 1, [0.6]), rho: rho)
        }
    }

    @Test("a whole network, each structure and head: gradients of the inputs and the head's parameters",
          arguments: FusionParityTests.cases)
    func network(structure: FusionStructure, head: FusionHead) throws {
        let architecture = FusionFixture.architecture(structure, head)
        let network = FusionNetwork(architecture: architecture)
        let parameters = network.initialParameters(seed: 3)
        let inputs = architecture.inputs
        let fixed = inputs.map { input in (0..<(2 * input.size)).map { Float(($0 * 7 + input.size) % 11) * 0.15 - 0.7 } }
        let headNames = network.parameterShapes.map(\.0).filter { !$0.contains(".net.") && !$0.contains("score") }
        Self.checkParameters("\(structure) \(head) head", headNames.map { parameters[$0]! }) { tape in
            let features = Dictionary(uniqueKeysWithValues: zip(inputs, fixed).map { ($0.name, tape.leaf(2, $0.size, $1)) })
            let (emotion, valence) = network.forward(features, tape: tape, parameters: parameters)
            return tape.uncertaintyWeighted(emotion: tape.crossEntropy(probabilities: emotion, labels: [1, 4]),
                                            valence: tape.meanSquaredError(valence, targets: [2, -1]), rho: parameters["rho"]!)
        }
        Self.check("\(structure) \(head)", shapes: inputs.map { (2, $0.size) }) { tape, leaves in
            let features = Dictionary(uniqueKeysWithValues: zip(inputs, leaves).map { ($0.name, $1) })
            let (emotion, valence) = network.forward(features, tape: tape, parameters: parameters)
            return tape.uncertaintyWeighted(emotion: tape.crossEntropy(probabilities: emotion, labels: [1, 4]),
                                            valence: tape.meanSquaredError(valence, targets: [2, -1]), rho: parameters["rho"]!)
        }
    }

    @Test("dropout keeps exactly the values `Float.random(in: 0..<1) >= p` keeps, scaled by 1/(1−p), and passes gradients through the same mask", arguments: [Float(0.3), 0.7, 0.5])
    func dropoutMask(probability: Float) {
        let count = 4096
        let tape = Tape(training: true, seed: 42)
        let x = tape.leaf(64, 64, (0..<count).map { Float($0 % 7) + 1 })
        let y = tape.dropout(x, probability: probability)
        var reference = SplitMix64(seed: 42)
        let kept = (0..<count).map { _ in Float.random(in: 0..<1, using: &reference) >= probability }
        let scale = 1 / (1 - probability)
        #expect((0..<count).allSatisfy { y.value[$0] == (kept[$0] ? x.value[$0] * scale : 0) })
        let share = Double(kept.filter { $0 }.count) / Double(count)
        #expect(abs(share - Double(1 - probability)) < 0.03, "kept \(share)")
        y.gradient = [Float](repeating: 1, count: count)
        y.propagate?()
        #expect((0..<count).allSatisfy { x.gradient[$0] == (kept[$0] ? scale : 0) })
        // The tape's generator goes on where the first mask left it.
        let second = tape.dropout(x, probability: probability)
        let keptNext = (0..<count).map { _ in Float.random(in: 0..<1, using: &reference) >= probability }
        #expect((0..<count).allSatisfy { second.value[$0] == (keptNext[$0] ? x.value[$0] * scale : 0) })
        #expect(tape.random.next() == reference.next())
    }
}
