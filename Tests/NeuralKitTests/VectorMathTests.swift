import Foundation
@testable import NeuralKit
import Testing

@Suite("Vectorised exp and erf against float64")
struct VectorMathTests {
    /// Every 16th float bit pattern would be slow; a dense grid over the used range is enough.
    static func grid(_ range: ClosedRange<Double>, count: Int) -> [Float] {
        (0..<count).map { Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)) }
    }

    @Test("exp: relative error ≤ 3e-7 from -87 to 88 (softmax feeds it x - max ≤ 0)")
    func exp() {
        var values = Self.grid(-87...88, count: 100_003)
        let inputs = values
        values.withUnsafeMutableBufferPointer { VectorMath.map($0.baseAddress!, count: $0.count) { VectorMath.exp($0) } }
        var worst = 0.0
        for (x, y) in zip(inputs, values) {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - exact) / exact)
        }
        #expect(worst <= 3e-7, "worst relative error \(worst)")
    }

    @Test("erf: absolute error ≤ 5e-7 over [-6, 6], exactly ±1 far out")
    func erf() {
        var values = Self.grid(-6...6, count: 100_001) + [-1e30, 1e30, 0]
        let inputs = values
        values.withUnsafeMutableBufferPointer { VectorMath.map($0.baseAddress!, count: $0.count) { VectorMath.erf($0) } }
        var worst = 0.0
        for (x, y) in zip(inputs, values) { worst = max(worst, abs(Double(y) - Foundation.erf(Double(x)))) }
        #expect(worst <= 5e-7, "worst absolute error \(worst)")
        #expect(values.suffix(3) == [-1, 1, 0])
    }

    @Test("the tail shorter than a vector is mapped too", arguments: [0, 1, 15, 16, 17, 33])
    func tail(count: Int) {
        var values = [Float](repeating: 1, count: count)
        values.withUnsafeMutableBufferPointer { VectorMath.map($0.baseAddress!, count: $0.count) { $0 * 3 } }
        #expect(values == [Float](repeating: 3, count: count))
    }
}
