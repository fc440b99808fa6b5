import CNeuralKernels
import Foundation
import Testing

@Suite("Vectorised exp and erf of CNeuralKernels against float64")
struct VectorMathTests {
    /// A dense grid over the range each is used on.
    static func grid(_ range: ClosedRange<Double>, count: Int) -> [Float] {
        (0..<count).map { Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)) }
    }

    @Test("exp: relative error ≤ 3e-7 from -87 to 88; 0 below the normal range")
    func exp() {
        let inputs = Self.grid(-87...88, count: 100_003) + [-100, -.infinity]
        var values = [Float](repeating: .nan, count: inputs.count)
        nk_exp(inputs, &values, inputs.count)
        var worst = 0.0
        for (x, y) in zip(inputs.dropLast(2), values) {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - exact) / exact)
        }
        #expect(worst <= 3e-7, "worst relative error \(worst)")
        #expect(values.suffix(2) == [0, 0])
    }

    @Test("erf: absolute error ≤ 5e-7 over [-6, 6], exactly ±1 far out")
    func erf() {
        let inputs = Self.grid(-6...6, count: 100_001) + [-1e30, 1e30, 0]
        var values = [Float](repeating: .nan, count: inputs.count)
        nk_erf(inputs, &values, inputs.count)
        var worst = 0.0
        for (x, y) in zip(inputs, values) { worst = max(worst, abs(Double(y) - Foundation.erf(Double(x)))) }
        #expect(worst <= 5e-7, "worst absolute error \(worst)")
        #expect(values.suffix(3) == [-1, 1, 0])
    }
}
