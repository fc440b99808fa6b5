import Benchmark
import MediaTypes
import CBLASReference
import NeuralKit

/// GEMM and convolution throughput of NeuralKit against cblas_sgemm called directly; the
/// depthwise kernel against the direct loop it replaced.
///
/// The machine is shared and its speed drifts within seconds, so each benchmark times the
/// raw sgemm of the same GEMM shape and the NeuralKit call alternately, iteration by
/// iteration, and reports both in MFLOP/s and their ratio in percent: the ratio is the
/// figure that counts.
let benchmarks: @Sendable () -> Void = {
    print("OpenBLAS core: \(BLAS.coreName); threads: \(BLAS.threadCount); \(BLAS.configuration)")
    GEMMCheck.run()

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, rawMflops, neuralKitMflops, ratioPercent],
        timeUnits: .milliseconds,
        warmupIterations: 3,
        maxDuration: .seconds(4),
        maxIterations: 200)

    for (m, n, k) in [(200, 1024, 1024), (200, 4096, 1024), (1024, 1024, 1024)] {
        let a = Tensor.random([m, k], seed: 1)
        let b = Tensor.random([n, k], seed: 2)  // [out, in], as a Linear weight
        let bias = Tensor.random([n], seed: 3)
        let layer = Linear(weight: b, bias: bias)
        Benchmark("Linear vs sgemm (\(m),\(n),\(k))") { benchmark in
            var reference = RawGEMM(m: m, n: n, k: k)
            for _ in benchmark.scaledIterations {
                let raw = reference.time()
                var y: Tensor?
                let ours = ContinuousClock().measure { y = layer(a) }
                benchmark.report(flops: 2 * m * n * k, raw: raw, ours: ours)
                blackHole(y)
            }
        }
    }

    // The same layer on a short sequence's rows and on `BLAS.efficientRows` of them (extra
    // rows ignored): the ratio is the time the padding saves, or costs, on this kernel.
    let wide = Linear(weight: Tensor.random([4096, 1024], seed: 15), bias: Tensor.random([4096], seed: 16))
    for rows in [12, 25, 37, 44, 50, 74] {
        let padded = BLAS.efficientRows(rows)
        let input = Tensor.random([padded, 1024], seed: 17)
        Benchmark("Linear 1024→4096 on \(rows) rows vs on \(padded) (efficientRows)",
                  configuration: .init(metrics: [.wallClock, exactRowsMicroseconds, efficientRowsMicroseconds, efficientPercent],
                                       timeUnits: .microseconds, warmupIterations: 3, maxDuration: .seconds(3), maxIterations: 200)) { benchmark in
            var output = [Float](repeating: 0, count: padded * 4096)
            for _ in benchmark.scaledIterations {
                input.withUnsafeBufferPointer { x in
                    output.withUnsafeMutableBufferPointer { y in
                        let exact = ContinuousClock().measure { wide.apply(rows: rows, input: x.baseAddress!, output: y.baseAddress!) }
                        let rounded = ContinuousClock().measure { wide.apply(rows: padded, input: x.baseAddress!, output: y.baseAddress!) }
                        benchmark.measurement(exactRowsMicroseconds, Int(exact.seconds * 1e6))
                        benchmark.measurement(efficientRowsMicroseconds, Int(rounded.seconds * 1e6))
                        benchmark.measurement(efficientPercent, Int((100 * rounded.seconds / exact.seconds).rounded()))
                    }
                }
                blackHole(output)
            }
        }
    }

    // The vectorised depthwise kernel against the direct loop it replaced, alternately in one
    // run, at EfficientNet-B0's depthwise shapes (224 px input; TF "same" padding).
    for (channels, size, kernel, stride) in [(32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 5, 2), (240, 28, 5, 1),
                                             (480, 14, 3, 1), (672, 14, 5, 1), (1152, 7, 5, 1)] {
        let conv = Conv2d(weight: .random([channels, 1, kernel, kernel], seed: 41), bias: .random([channels], seed: 42),
                          geometry: ConvolutionGeometry(stride: (stride, stride), padding: .same, groups: channels))
        let input = Tensor.random([1, channels, size, size], seed: 43)
        let out = (size + stride - 1) / stride
        let flops = 2 * channels * out * out * kernel * kernel
        Benchmark("depthwise \(kernel)x\(kernel) \(channels)ch \(size)x\(size) s\(stride) vs the direct loop",
                  configuration: .init(metrics: [.wallClock, kernelMflops, loopMflops, speedupPercent], timeUnits: .microseconds,
                                       warmupIterations: 3, maxDuration: .seconds(3), maxIterations: 200)) { benchmark in
            for _ in benchmark.scaledIterations {
                var y: Tensor?, z: Tensor?
                let fast = ContinuousClock().measure { y = conv(input) }
                let slow = ContinuousClock().measure { z = conv.depthwiseReference(input) }
                benchmark.measurement(kernelMflops, Int(Double(flops) / fast.seconds / 1e6))
                benchmark.measurement(loopMflops, Int(Double(flops) / slow.seconds / 1e6))
                benchmark.measurement(speedupPercent, Int((100 * slow.seconds / fast.seconds).rounded()))
                blackHole(y)
                blackHole(z)
            }
        }
    }

    for conv in ConvolutionCase.all {
        Benchmark("conv \(conv.name) vs sgemm of its GEMM") { benchmark in
            var reference = RawGEMM(m: conv.gemm.m, n: conv.gemm.n, k: conv.gemm.k)
            for _ in benchmark.scaledIterations {
                let raw = reference.time()
                var y: Tensor?
                let ours = ContinuousClock().measure { y = conv.layer(conv.input) }
                benchmark.report(flops: conv.flops, raw: raw, ours: ours, rawFlops: 2 * conv.gemm.m * conv.gemm.n * conv.gemm.k)
                blackHole(y)
            }
        }
    }
}

let rawMflops = BenchmarkMetric.custom("raw sgemm MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
let neuralKitMflops = BenchmarkMetric.custom("NeuralKit MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
let ratioPercent = BenchmarkMetric.custom("NeuralKit / raw %", polarity: .prefersLarger, useScalingFactor: false)
let exactRowsMicroseconds = BenchmarkMetric.custom("rows as given µs", polarity: .prefersSmaller, useScalingFactor: false)
let efficientRowsMicroseconds = BenchmarkMetric.custom("efficientRows µs", polarity: .prefersSmaller, useScalingFactor: false)
let efficientPercent = BenchmarkMetric.custom("efficientRows / as given %", polarity: .prefersSmaller, useScalingFactor: false)
let kernelMflops = BenchmarkMetric.custom("kernel MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
let loopMflops = BenchmarkMetric.custom("direct loop MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
let speedupPercent = BenchmarkMetric.custom("loop time / kernel time %", polarity: .prefersLarger, useScalingFactor: false)

extension Benchmark {
    /// Records both throughputs and their ratio; `rawFlops` is the reference GEMM's work
    /// when it differs from the layer's (a conv's GEMM has the same FLOPs, a depthwise conv
    /// is compared with the GEMM it would take as a grouped one).
    func report(flops: Int, raw: Duration, ours: Duration, rawFlops: Int? = nil) {
        let rawRate = Double(rawFlops ?? flops) / raw.seconds / 1e6
        let ourRate = Double(flops) / ours.seconds / 1e6
        measurement(rawMflops, Int(rawRate))
        measurement(neuralKitMflops, Int(ourRate))
        measurement(ratioPercent, Int((100 * ourRate / rawRate).rounded()))
    }
}


/// cblas_sgemm on preallocated row-major buffers: C[m×n] = A[m×k] · B[n×k]ᵀ.
struct RawGEMM {
    let m: Int, n: Int, k: Int
    var a: [Float], b: [Float], c: [Float]

    init(m: Int, n: Int, k: Int) {
        self.m = m
        self.n = n
        self.k = k
        a = Tensor.random([m, k], seed: 31).scalars
        b = Tensor.random([n, k], seed: 32).scalars
        c = [Float](repeating: 0, count: m * n)
    }

    mutating func time() -> Duration {
        let (m, n, k) = (Int32(self.m), Int32(self.n), Int32(self.k))
        return ContinuousClock().measure {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, &c, n)
        }
    }
}

/// Convolutions of the shapes merd runs: HuBERT's feature extractor, a ResNet block, a
/// depthwise layer of a mobile face net.
struct ConvolutionCase: Sendable {
    let name: String
    let layer: @Sendable (Tensor) -> Tensor
    let input: Tensor
    let flops: Int
    /// The GEMM im2col turns it into: [m × k] weights times [k × n] columns.
    let gemm: (m: Int, n: Int, k: Int)

    static let all: [ConvolutionCase] = [
        {
            // HuBERT conv layer 0 over 1 s of 16 kHz audio: 1 → 512 channels, kernel 10, stride 5.
            let conv = Conv1d(weight: .random([512, 1, 10], seed: 4), bias: nil, stride: 5)
            let out = conv.outputLength(16000)
            return ConvolutionCase(name: "HuBERT L0 1→512 k10 s5, 1 s", layer: { conv($0) },
                                   input: .random([1, 1, 16000], seed: 5), flops: 2 * 512 * 10 * out,
                                   gemm: (512, out, 10))
        }(),
        {
            // HuBERT conv layers 1–4: 512 → 512, kernel 3, stride 2, on 1 s worth of frames.
            let conv = Conv1d(weight: .random([512, 512, 3], seed: 6), bias: nil, stride: 2)
            let out = conv.outputLength(3199)
            return ConvolutionCase(name: "HuBERT L1 512→512 k3 s2, 1 s", layer: { conv($0) },
                                   input: .random([1, 512, 3199], seed: 7), flops: 2 * 512 * 512 * 3 * out,
                                   gemm: (512, out, 512 * 3))
        }(),
        {
            let conv = Conv2d(weight: .random([64, 64, 3, 3], seed: 8), bias: .random([64], seed: 9),
                              geometry: ConvolutionGeometry(padding: .symmetric(1, 1)))
            return ConvolutionCase(name: "ResNet 3x3 64→64 56x56", layer: { conv($0) },
                                   input: .random([1, 64, 56, 56], seed: 10), flops: 2 * 64 * 64 * 9 * 56 * 56,
                                   gemm: (64, 56 * 56, 64 * 9))
        }(),
        {
            let conv = Conv2d(weight: .random([256, 64, 1, 1], seed: 11), bias: nil)
            return ConvolutionCase(name: "pointwise 1x1 64→256 56x56", layer: { conv($0) },
                                   input: .random([1, 64, 56, 56], seed: 12), flops: 2 * 256 * 64 * 56 * 56,
                                   gemm: (256, 56 * 56, 64))
        }(),
        {
            let conv = Conv2d(weight: .random([64, 1, 3, 3], seed: 13), bias: nil,
                              geometry: ConvolutionGeometry(stride: (2, 2), padding: .same, groups: 64))
            return ConvolutionCase(name: "depthwise 3x3 64ch 112x112 s2", layer: { conv($0) },
                                   input: .random([1, 64, 112, 112], seed: 14), flops: 2 * 64 * 9 * 56 * 56,
                                   gemm: (1, 56 * 56, 9))
        }(),
    ]
}

extension Tensor {
    /// Uniform in [-1, 1], reproducible (a 64-bit LCG is plenty for benchmark inputs).
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Tensor(shape: shape) { buffer in
            for i in buffer.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer[i] = Float(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_000
            }
        }
    }
}

/// Before timing anything: NeuralKit's product agrees with a float64 dot product, so a
/// kernel choice that computes wrongly on this CPU (the reason OPENBLAS_CORETYPE is pinned
/// here) cannot produce a fast, wrong figure.
enum GEMMCheck {
    static func run() {
        let (m, n, k) = (200, 1024, 1024)
        let a = Tensor.random([m, k], seed: 21), b = Tensor.random([n, k], seed: 22)
        let c = Linear(weight: b, bias: nil)(a).scalars
        let av = a.scalars, bv = b.scalars
        var worst = 0.0
        for sample in 0..<256 {
            let (i, j) = ((sample * 7919) % m, (sample * 104_729) % n)
            var exact = 0.0, magnitude = 0.0
            for p in 0..<k {
                exact += Double(av[i * k + p]) * Double(bv[j * k + p])
                magnitude += abs(Double(av[i * k + p]) * Double(bv[j * k + p]))
            }
            worst = max(worst, abs(Double(c[i * n + j]) - exact) / magnitude)
        }
        print("GEMM check (200,1024,1024) vs float64 on 256 entries: worst error / Σ|terms| = \(worst)")
        precondition(worst < 1e-5, "sgemm disagrees with float64 on this CPU: do not trust these timings")
    }
}
