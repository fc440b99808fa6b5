import Foundation
import StreamEngine
import NeuralKit
import CNeuralKernels

/// A value in a training step: a [rows × columns] matrix (rows = clips of the mini-batch)
/// and, after `Tape.backward`, the gradient of the loss with respect to it.
final class Node {
    let rows: Int
    let columns: Int
    var value: [Float]
    var gradient: [Float]
    /// Whether anything wants this node's gradient: false for a leaf nobody differentiates
    /// (a mini-batch's features), so the operations on it skip computing what goes into it —
    /// for the first layer of each input, dX = dY·W, as costly as its forward product.
    let needsGradient: Bool
    /// Adds this node's gradient into its inputs' gradients (nil for leaves).
    var propagate: (() -> Void)?

    init(rows: Int, columns: Int, value: [Float], needsGradient: Bool = true, propagate: (() -> Void)? = nil) {
        precondition(value.count == rows * columns, "node value has \(value.count) elements for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.value = value
        self.needsGradient = needsGradient
        self.gradient = needsGradient ? [Float](repeating: 0, count: rows * columns) : []
        self.propagate = propagate
    }

    /// The value as serving's activations: the forward math both paths share.
    var activations: Activations { Activations(rows: rows, columns: columns, values: value) }

    /// Runs `body` with this node's gradient and `input`'s (to add into) as buffers: one
    /// access each, where indexing the class's arrays per element paid a dynamic exclusivity
    /// check and an unowned retain per element.
    func backward(into input: Node, _ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) {
        guard input.needsGradient else { return }
        gradient.withUnsafeBufferPointer { dy in input.gradient.withUnsafeMutableBufferPointer { dx in body(dy, dx) } }
    }
}

/// Reverse-mode differentiation for the fusion network: every operation records a node; the
/// backward pass walks them in reverse. The operations are exactly those the paper's AFG,
/// heads and loss use, each with its gradient written out (and checked against finite
/// differences in the tests).
final class Tape {
    private(set) var nodes: [Node] = []
    /// Whether dropout is active (training) or the identity (inference).
    let training: Bool
    var random: SplitMix64
    /// Where the products run: the task's compute backend when the tape was made.
    let backend: ComputeBackend

    init(training: Bool, seed: UInt64 = 0, backend: ComputeBackend = Compute.current.backend) {
        self.training = training
        random = SplitMix64(seed: seed)
        self.backend = backend
    }

    /// An input of the step; `needsGradient: false` for one nobody differentiates (its
    /// gradient stays empty).
    func leaf(_ rows: Int, _ columns: Int, _ value: [Float], needsGradient: Bool = true) -> Node {
        let node = Node(rows: rows, columns: columns, value: value, needsGradient: needsGradient)
        nodes.append(node)
        return node
    }

    private func record(_ node: Node) -> Node {
        nodes.append(node)
        return node
    }

    /// Sets the loss gradient to 1 and propagates to every node.
    func backward(from loss: Node) {
        precondition(loss.rows == 1 && loss.columns == 1, "backward from a scalar")
        loss.gradient[0] = 1
        for node in nodes.reversed() { node.propagate?() }
    }

    // MARK: Operations

    /// x Wᵀ + b, W [out × in] as torch.nn.Linear stores it, held as it is or input-major
    /// (Wᵀ, [in × out]: `Parameter.inputMajor`), each product reading its operands as they lie.
    func linear(_ x: Node, weight: Parameter, bias: Parameter) -> Node {
        let (rows, inputs, outputs) = (x.rows, x.columns, weight.shape[0])
        precondition(weight.shape == [outputs, inputs], "linear weight \(weight.shape) for input width \(inputs)")
        let major = weight.inputMajor
        let backend = backend
        let value: [Float]
        if major {
            var y = [Float](repeating: 0, count: rows * outputs)
            y.withUnsafeMutableBufferPointer { c in
                bias.value.withUnsafeBufferPointer { b in for r in 0..<rows { for o in 0..<outputs { c[r * outputs + o] = b[o] } } }
                x.value.withUnsafeBufferPointer { a in
                    weight.value.withUnsafeBufferPointer { w in
                        GEMM.multiply(on: backend, m: rows, n: outputs, k: inputs, a: a.baseAddress!, lda: inputs, b: w.baseAddress!, ldb: outputs,
                                      beta: 1, c: c.baseAddress!, ldc: outputs)
                    }
                }
            }
            value = y
        } else {
            value = x.activations.linear(weight.value, bias.value, on: backend).values
        }
        let node = Node(rows: rows, columns: outputs, value: value)
        node.propagate = { [unowned node] in
            // dX += dY W; dW += dYᵀ X (input-major: dWᵀ += Xᵀ dY); db += Σ rows dY.
            node.gradient.withUnsafeBufferPointer { dy in
                if x.needsGradient {
                    weight.value.withUnsafeBufferPointer { w in
                        x.gradient.withUnsafeMutableBufferPointer { dx in
                            GEMM.multiply(on: backend, transposeB: major, m: rows, n: inputs, k: outputs, a: dy.baseAddress!, lda: outputs,
                                          b: w.baseAddress!, ldb: major ? outputs : inputs, beta: 1, c: dx.baseAddress!, ldc: inputs)
                        }
                    }
                }
                x.value.withUnsafeBufferPointer { a in
                    weight.addingToGradient { dw, isZero in
                        let beta: Float = isZero ? 0 : 1
                        if major {
                            GEMM.multiply(on: backend, transposeA: true, m: inputs, n: outputs, k: rows, a: a.baseAddress!, lda: inputs,
                                          b: dy.baseAddress!, ldb: outputs, beta: beta, c: dw.baseAddress!, ldc: outputs)
                        } else {
                            GEMM.multiply(on: backend, transposeA: true, m: outputs, n: inputs, k: rows, a: dy.baseAddress!, lda: outputs,
                                          b: a.baseAddress!, ldb: inputs, beta: beta, c: dw.baseAddress!, ldc: inputs)
                        }
                    }
                }
                bias.addingToGradient { db, isZero in
                    if isZero { db.update(repeating: 0) }
                    for r in 0..<rows { for o in 0..<outputs { db[o] += dy[r * outputs + o] } }
                }
            }
        }
        return record(node)
    }

    func relu(_ x: Node) -> Node {
        var y = x.value
        y.withUnsafeMutableBufferPointer { Activation.relu($0) }
        let node = Node(rows: x.rows, columns: x.columns, value: y)
        node.propagate = { [unowned node] in
            node.backward(into: x) { dy, dx in
                x.value.withUnsafeBufferPointer { v in nk_relu_backward(dx.baseAddress!, dy.baseAddress!, v.baseAddress!, v.count) }
            }
        }
        return record(node)
    }

    func tanh(_ x: Node) -> Node {
        let node = Node(rows: x.rows, columns: x.columns, value: x.value.map { Float(Foundation.tanh(Double($0))) })
        node.propagate = { [unowned node] in
            node.backward(into: x) { dy, dx in
                node.value.withUnsafeBufferPointer { y in for i in 0..<y.count { dx[i] += dy[i] * (1 - y[i] * y[i]) } }
            }
        }
        return record(node)
    }

    /// Inverted dropout: in training, each value is kept with probability 1 − p and scaled by
    /// 1/(1 − p) (torch's convention), so inference needs no rescaling.
    func dropout(_ x: Node, probability p: Float) -> Node {
        guard training, p > 0 else { return x }
        let scale = 1 / (1 - p)
        // `Float.random(in: 0..<1)` is the low 24 bits of `next()` times 2⁻²⁴, so comparing
        // those bits with ⌈p·2²⁴⌉ keeps exactly the values it would.
        let threshold = UInt64((p * 0x1p24).rounded(.up))
        let count = x.value.count
        var mask = [Float](repeating: 0, count: count)
        var y = [Float](repeating: 0, count: count)
        random.withCounter { state in
            x.value.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    mask.withUnsafeMutableBufferPointer { m in
                        nk_dropout(x.baseAddress!, y.baseAddress!, m.baseAddress!, count, state, threshold, scale)
                    }
                }
            }
        }
        let node = Node(rows: x.rows, columns: x.columns, value: y)
        node.propagate = { [unowned node] in
            node.backward(into: x) { dy, dx in
                mask.withUnsafeBufferPointer { m in nk_multiply_add(dx.baseAddress!, dy.baseAddress!, m.baseAddress!, m.count) }
            }
        }
        return record(node)
    }

    /// Row-wise softmax.
    func softmax(_ x: Node) -> Node {
        var y = x.activations
        y.softmax()
        let node = Node(rows: x.rows, columns: x.columns, value: y.values)
        node.propagate = { [unowned node] in
            // dx = y ⊙ (dy − Σ dy·y) per row.
            let (rows, columns) = (x.rows, x.columns)
            node.backward(into: x) { dy, dx in
                node.value.withUnsafeBufferPointer { y in
                    for r in 0..<rows {
                        var dot: Float = 0
                        for c in 0..<columns { dot += dy[r * columns + c] * y[r * columns + c] }
                        for c in 0..<columns {
                            let i = r * columns + c
                            dx[i] += y[i] * (dy[i] - dot)
                        }
                    }
                }
            }
        }
        return record(node)
    }

    /// Columns side by side: [x₁ | x₂ | …].
    func concatenate(_ parts: [Node]) -> Node {
        let rows = parts[0].rows
        let columns = parts.map(\.columns).reduce(0, +)
        let node = Node(rows: rows, columns: columns, value: Activations.concatenate(parts.map(\.activations)).values)
        node.propagate = { [unowned node] in
            var offset = 0
            for part in parts {
                let width = part.columns
                node.backward(into: part) { dy, dx in
                    for r in 0..<rows { for c in 0..<width { dx[r * width + c] += dy[r * columns + offset + c] } }
                }
                offset += width
            }
        }
        return record(node)
    }

    /// Σₙ weights[:, n] · inputs[n], per row: the AFG's weighted average.
    func weightedSum(_ inputs: [Node], weights: Node) -> Node {
        let (rows, width) = (inputs[0].rows, inputs[0].columns)
        precondition(weights.columns == inputs.count && weights.rows == rows, "one weight per input and row")
        let node = Node(rows: rows, columns: width, value: Activations.weightedSum(inputs.map(\.activations), scores: weights.activations).values)
        node.propagate = { [unowned node] in
            let count = inputs.count
            let a = weights.value
            var dots = [Float](repeating: 0, count: rows * count)
            for (n, input) in inputs.enumerated() {
                node.backward(into: input) { dy, dx in
                    input.value.withUnsafeBufferPointer { v in
                        for r in 0..<rows {
                            let share = a[r * count + n]
                            var dot: Float = 0
                            for c in 0..<width {
                                let i = r * width + c
                                dx[i] += share * dy[i]
                                dot += dy[i] * v[i]
                            }
                            dots[r * count + n] = dot
                        }
                    }
                }
            }
            if weights.needsGradient {
                weights.gradient.withUnsafeMutableBufferPointer { dw in for i in 0..<dots.count { dw[i] += dots[i] } }
            }
        }
        return record(node)
    }

    // MARK: Losses (scalars)

    /// Mean cross-entropy of row-wise probabilities `p` (already softmaxed) for `labels`.
    func crossEntropy(probabilities p: Node, labels: [Int]) -> Node {
        let rows = p.rows
        var loss: Float = 0
        for r in 0..<rows { loss -= Foundation.log(max(p.value[r * p.columns + labels[r]], 1e-12)) }
        let node = Node(rows: 1, columns: 1, value: [loss / Float(rows)])
        node.propagate = { [unowned node] in
            guard p.needsGradient else { return }
            for r in 0..<rows {
                let i = r * p.columns + labels[r]
                p.gradient[i] -= node.gradient[0] / (Float(rows) * max(p.value[i], 1e-12))
            }
        }
        return record(node)
    }

    /// Mean squared error of a [rows × 1] prediction over the rows whose target is a number: a NaN target (no label) is
    /// left out of the mean and gets no gradient; with none, the loss is 0.
    func meanSquaredError(_ prediction: Node, targets: [Float]) -> Node {
        let known = targets.indices.filter { !targets[$0].isNaN }
        let count = Float(max(known.count, 1))
        var loss: Float = 0
        for r in known { loss += (prediction.value[r] - targets[r]) * (prediction.value[r] - targets[r]) }
        let node = Node(rows: 1, columns: 1, value: [loss / count])
        node.propagate = { [unowned node] in
            guard prediction.needsGradient else { return }
            for r in known { prediction.gradient[r] += node.gradient[0] * 2 * (prediction.value[r] - targets[r]) / count }
        }
        return record(node)
    }

    /// The paper's uncertainty-weighted loss: L = L_e/δ₁² + L_v/(2δ₂²) + log(1+δ₁) + log(1+δ₂),
    /// with δ = softplus(ρ) so both stay positive.
    func uncertaintyWeighted(emotion: Node, valence: Node, rho: Parameter) -> Node {
        let softplus = { (x: Float) -> Float in x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }
        let sigmoid = { (x: Float) -> Float in 1 / (1 + Foundation.exp(-x)) }
        let (d1, d2) = (softplus(rho.value[0]), softplus(rho.value[1]))
        let (le, lv) = (emotion.value[0], valence.value[0])
        let loss = le / (d1 * d1) + lv / (2 * d2 * d2) + Foundation.log(1 + d1) + Foundation.log(1 + d2)
        let node = Node(rows: 1, columns: 1, value: [loss])
        node.propagate = { [unowned node] in
            let g = node.gradient[0]
            if emotion.needsGradient { emotion.gradient[0] += g / (d1 * d1) }
            if valence.needsGradient { valence.gradient[0] += g / (2 * d2 * d2) }
            // dL/dδ₁ = −2 L_e/δ₁³ + 1/(1+δ₁); dδ/dρ = sigmoid(ρ).
            let s1 = sigmoid(rho.value[0]), s2 = sigmoid(rho.value[1])
            rho.addingToGradient { dRho, isZero in
                if isZero { dRho.update(repeating: 0) }
                dRho[0] += g * (-2 * le / (d1 * d1 * d1) + 1 / (1 + d1)) * s1
                dRho[1] += g * (-lv / (d2 * d2 * d2) + 1 / (1 + d2)) * s2
            }
        }
        return record(node)
    }

    func add(_ a: Node, _ b: Node) -> Node {
        precondition(a.rows == b.rows && a.columns == b.columns, "add of different shapes")
        let node = Node(rows: a.rows, columns: a.columns, value: zip(a.value, b.value).map(+))
        node.propagate = { [unowned node] in
            node.backward(into: a) { dy, dx in for i in 0..<dy.count { dx[i] += dy[i] } }
            node.backward(into: b) { dy, dx in for i in 0..<dy.count { dx[i] += dy[i] } }
        }
        return record(node)
    }
}

/// A trainable tensor with its gradient and Adam's moments.
final class Parameter {
    let name: String
    /// The tensor's shape as the model file stores it (torch's: a linear weight is [out, in]).
    let shape: [Int]
    /// A linear weight held input-major, [in, out] (the transpose of `shape`), so that
    /// training's products read it as it lies: with torch's [out, in], OpenBLAS copied and
    /// transposed the whole weight for every 32-row product (X·Wᵀ at 44 GFLOP/s on one core
    /// against 77 for X·W, for a [256, 2048] weight; dW at 65 against 84). Otherwise `value`
    /// is in `shape`'s order.
    let inputMajor: Bool
    var value: [Float]
    /// ∂L/∂value, summed over the step's operations — unless `gradientIsZero`.
    var gradient: [Float]
    /// Whether the gradient is to be read as zeros, whatever `gradient` holds: Adam leaves it
    /// so instead of writing zeros, and the step's first operation on this parameter writes
    /// its gradient instead of adding to it (a product with beta 0). Zeroing cost Adam a write
    /// of every gradient, and each dW product a read of those zeros: a tenth of Adam's memory
    /// traffic, which bounds it.
    var gradientIsZero = true
    var firstMoment: [Float]
    var secondMoment: [Float]

    /// `value` in `shape`'s order; `inputMajor` holds a 2-D weight transposed.
    init(name: String, shape: [Int], value: [Float], inputMajor: Bool = false) {
        precondition(shape.reduce(1, *) == value.count, "\(name): \(value.count) values for shape \(shape)")
        precondition(!inputMajor || shape.count == 2, "\(name): only a 2-D weight is held input-major")
        self.name = name
        self.shape = shape
        self.inputMajor = inputMajor
        self.value = inputMajor ? Self.transposed(value, rows: shape[0], columns: shape[1]) : value
        gradient = [Float](repeating: 0, count: value.count)
        firstMoment = gradient
        secondMoment = gradient
    }

    /// Runs `body` with the gradient to add into, and whether it reads as zeros (then `body`
    /// writes rather than adds, or zeroes what it will not write). The gradient is real
    /// afterwards.
    func addingToGradient(_ body: (UnsafeMutableBufferPointer<Float>, _ isZero: Bool) -> Void) {
        let isZero = gradientIsZero
        gradientIsZero = false
        gradient.withUnsafeMutableBufferPointer { body($0, isZero) }
    }

    /// `value` in `shape`'s order, as the model file stores it.
    var shapedValue: [Float] { inputMajor ? Self.transposed(value, rows: shape[1], columns: shape[0]) : value }

    /// A [rows, columns] row-major matrix as [columns, rows].
    static func transposed(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: matrix.count)
        matrix.withUnsafeBufferPointer { m in
            result.withUnsafeMutableBufferPointer { t in
                for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = m[r * columns + c] } }
            }
        }
        return result
    }
}
