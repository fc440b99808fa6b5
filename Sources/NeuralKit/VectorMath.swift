/// Vectorised float32 exp and erf for the memory-bound passes (softmax, GELU), where libm's
/// scalar calls would cost more than the GEMMs around them.
///
/// Both are classic approximations: exp after Cephes' `expf` (range reduction by ln 2 split
/// in two parts, a degree-6 polynomial, exponent bits set directly); erf as the odd/even
/// rational approximation on [-4, 4] used by Eigen and XLA (beyond ±4, erf is ±1 in float32).
/// Tests check both against float64 over their whole useful range.
enum VectorMath {
    typealias Vector = SIMD16<Float>

    @inline(__always)
    static func exp(_ input: Vector) -> Vector {
        // Below -87.3 the result is under Float's smallest normal; clamp instead of underflowing
        // to a denormal, which is slow on some CPUs and changes nothing that softmax can see.
        let x = input.clamped(lowerBound: Vector(repeating: -87.336_544), upperBound: Vector(repeating: 88.722_839))
        let n = (x * 1.442_695_04).rounded(.toNearestOrEven)
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * r * r + r + 1
        let exponent = SIMD16<Int32>(n, rounding: .towardZero) &+ 127
        let scale = unsafeBitCast(exponent &<< 23, to: Vector.self)
        // exp(-inf) and anything that would underflow is 0, as softmax's masked entries need.
        return (y * scale).replacing(with: 0, where: input .< -87.336_544)
    }

    @inline(__always)
    static func erf(_ input: Vector) -> Vector {
        let x = input.clamped(lowerBound: Vector(repeating: -4), upperBound: Vector(repeating: 4))
        let x2 = x * x
        var p = x2 * -2.726_142_258_013_06e-10 + 2.770_681_424_959_02e-08
        p = x2 * p + -2.101_024_020_825_08e-06
        p = x2 * p + -5.692_506_394_623_46e-05
        p = x2 * p + -7.349_906_303_268_55e-04
        p = x2 * p + -2.954_599_808_540_25e-03
        p = x2 * p + -1.609_603_332_624_15e-02
        p = x * p
        var q = x2 * -1.456_607_184_649_96e-05 + -2.133_740_552_789_05e-04
        q = x2 * q + -1.682_826_974_382_03e-03
        q = x2 * q + -7.373_329_167_204_68e-03
        q = x2 * q + -1.426_473_905_141_89e-02
        return p / q
    }

    /// Applies `vector` to whole 16-lane blocks and `scalar` to the tail, in place.
    @inline(__always)
    static func map(
        _ data: UnsafeMutablePointer<Float>, count: Int,
        _ vector: (Vector) -> Vector
    ) {
        var i = 0
        let raw = UnsafeMutableRawPointer(data)
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: Vector.self)
            raw.storeBytes(of: vector(v), toByteOffset: i * 4, as: Vector.self)
            i += 16
        }
        if i < count {
            var tail = Vector(repeating: 0)
            for lane in 0..<(count - i) { tail[lane] = data[i + lane] }
            let result = vector(tail)
            for lane in 0..<(count - i) { data[i + lane] = result[lane] }
        }
    }
}
