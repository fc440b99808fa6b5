import NeuralKit
import TestSupport

/// The shared seeded generator, with the tensors NeuralKit's tests need.
typealias SeededRandom = SeededGenerator

extension SeededGenerator {
    /// A tensor of `shape` with elements uniform in `range`.
    mutating func tensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<count).map { _ in Float.random(in: range, using: &self) })
    }
}

extension Tensor {
    /// Elements widened to Double, for the float64 references.
    var doubles: [Double] { scalars.map(Double.init) }
}
