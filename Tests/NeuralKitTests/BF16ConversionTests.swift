import CNeuralKernels
import COneDNN
import Testing

@testable import NeuralKit

/// The F32 → BF16 conversion of every BF16 product's input rows (`nk_f32_to_bf16`), against
/// oneDNN's reorder, which it replaced, and against the rounding rule itself.
@Suite("F32 to BF16 conversion")
struct BF16ConversionTests {
    /// Random values over the whole exponent range, ties both ways, the largest finite
    /// values (which round up to infinity), infinities, zeros of both signs, subnormals, and an
    /// odd count so the masked tail runs.
    static let values: [Float] = {
        var random = SeededRandom(seed: 23)
        var values = (0..<4093).map { _ in
            Float(sign: Bool.random(using: &random) ? .minus : .plus,
                  exponent: Int.random(in: -120...120, using: &random),
                  significand: Float.random(in: 1..<2, using: &random))
        }
        let ties: [UInt32] = [0x3f80_8000, 0x3f81_8000, 0xbf80_8000, 0x3f80_7fff, 0x3f80_8001, 0x7f7f_ffff, 0x7f7f_8000]
        values += ties.map(Float.init(bitPattern:))
        values += [.infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, 1, -1]
        values += [Float(bitPattern: 0x0001_2345), -Float.leastNonzeroMagnitude, .leastNormalMagnitude]
        return values
    }()

    @Test("rounds to nearest, ties to even; NaN stays NaN")
    func rounding() {
        var out = [UInt16](repeating: 0, count: Self.values.count)
        nk_f32_to_bf16_reference(Self.values, &out, Self.values.count)
        for (value, half) in zip(Self.values, out) {
            // The two BF16 values around it: its bits cut to 16, and one BF16 step further
            // from zero (as exact numbers: past the largest finite value that step is 2¹²⁸,
            // which BF16 writes as infinity).
            let cut = value.bitPattern & 0xffff_0000
            let truncated = Double(Float(bitPattern: cut))
            if truncated == Double(value) || value.isInfinite {
                #expect(UInt32(half) << 16 == cut, "\(value) is a BF16 value")
                continue
            }
            let step = Double(Float(bitPattern: cut).ulp) * 65536
            let away = truncated + (value < 0 ? -step : step)
            let (down, up) = (abs(Double(value) - truncated), abs(away - Double(value)))
            let expected = down < up || (down == up && (cut >> 16) & 1 == 0) ? cut >> 16 : (cut >> 16) + 1
            #expect(UInt32(half) == expected, "\(value): \(String(half, radix: 16)), expected \(String(expected, radix: 16))")
        }
        #expect(out[Self.values.firstIndex(of: Float(bitPattern: 0x3f80_8000))!] == 0x3f80, "tie down to even")
        #expect(out[Self.values.firstIndex(of: Float(bitPattern: 0x3f81_8000))!] == 0x3f82, "tie up to even")
        #expect(out[Self.values.firstIndex(of: .greatestFiniteMagnitude)!] == 0x7f80, "largest finite → infinity")
        var nan: UInt16 = 0
        nk_f32_to_bf16_reference([Float.nan], &nan, 1)
        #expect(Float(bitPattern: UInt32(nan) << 16).isNaN)
    }

    @Test("the dispatched conversion gives the reference's bits and oneDNN's reorder's",
          .enabled(if: ComputePrecision.bf16Available, "this CPU has neither AVX512_BF16 nor AMX"),
          arguments: [1, 15, 16, 17, 31, 32, 33, 4100, values.count])
    func sameBits(count: Int) throws {
        let input = Array(Self.values.prefix(count))
        var fast = [UInt16](repeating: 0, count: count)
        var reference = [UInt16](repeating: 0, count: count)
        var reordered = [UInt16](repeating: 0, count: count)
        nk_f32_to_bf16(input, &fast, count)
        nk_f32_to_bf16_reference(input, &reference, count)
        let plain = try OneDNN.descriptor([count], dnnl_f32, dnnl_a)
        let halves = try OneDNN.descriptor([count], dnnl_bf16, dnnl_a)
        let reorder = try OneDNN.reorder(from: plain, to: halves)
        input.withUnsafeBufferPointer { x in
            reordered.withUnsafeMutableBufferPointer { y in
                reorder.execute([(DNNL_ARG_FROM, plain, UnsafeMutableRawPointer(mutating: x.baseAddress!)),
                                 (DNNL_ARG_TO, halves, UnsafeMutableRawPointer(y.baseAddress!))])
            }
        }
        // AVX512_BF16's instruction takes subnormal inputs as zero, as oneDNN's reorder does on
        // these CPUs; the portable rounding keeps them.
        for (value, (f, r)) in zip(input, zip(fast, reference)) where !value.isSubnormal {
            #expect(f == r, "\(value)")
        }
        #expect(fast == reordered)
    }
}
