import Benchmark
import MediaTypes
import Foundation
import MediaCodec
import StreamEngine

/// The per-sample audio stages, which run on every chunk while merd listens: each reports
/// the share of one core it takes to keep up with real time (time per second of audio).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, coreShare],
        timeUnits: .milliseconds,
        warmupIterations: 2,
        maxDuration: .seconds(4),
        maxIterations: 50)

    // 60 s: speech-like bursts (modulated tones) in steady noise, 20 ms chunks as from capture.
    let seconds = 60
    let audio16k = syntheticSpeech(seconds: seconds, rate: 16000, channels: 1)
    Benchmark("EnergySegmenter, 60 s at 16 kHz in 20 ms chunks") { benchmark in
        for _ in benchmark.scaledIterations {
            var segmenter = EnergySegmenter()
            var utterances = 0
            let elapsed = ContinuousClock().measure {
                for start in stride(from: 0, to: audio16k.count, by: 320) {
                    for case .utterance in segmenter.process(Array(audio16k[start..<min(start + 320, audio16k.count)])) { utterances += 1 }
                }
            }
            benchmark.reportShare(elapsed, audioSeconds: seconds)
            blackHole(utterances)
        }
    }

    let audio44k = syntheticSpeech(seconds: seconds, rate: 44100, channels: 2)
    Benchmark("Resampler 44.1 kHz stereo → 16 kHz mono, 60 s in 20 ms chunks") { benchmark in
        for _ in benchmark.scaledIterations {
            let resampler = try Resampler(inputRate: 44100, inputChannels: 2)
            var produced = 0
            let elapsed = ContinuousClock().measure {
                for start in stride(from: 0, to: audio44k.count, by: 2 * 882) {
                    produced += resampler.process(Array(audio44k[start..<min(start + 2 * 882, audio44k.count)])).count
                }
            }
            benchmark.reportShare(elapsed, audioSeconds: seconds)
            blackHole(produced)
        }
    }
}

/// Share of one core, in parts per million (10 000 = 1 % of a core).
let coreShare = BenchmarkMetric.custom("core share (ppm)", polarity: .prefersSmaller, useScalingFactor: false)

extension Benchmark {
    func reportShare(_ elapsed: Duration, audioSeconds: Int) {
        measurement(coreShare, Int((elapsed.seconds / Double(audioSeconds) * 1_000_000).rounded()))
    }
}

func syntheticSpeech(seconds: Int, rate: Int, channels: Int) -> [Float] {
    var state: UInt64 = 12345
    var samples: [Float] = []
    samples.reserveCapacity(seconds * rate * channels)
    for i in 0..<(seconds * rate) {
        let t = Double(i) / Double(rate)
        // 1.5 s bursts every 3 s, 4 Hz syllable envelope, plus white noise.
        let burst = t.truncatingRemainder(dividingBy: 3) < 1.5 ? 0.3 * sin(2 * Double.pi * 220 * t) * (0.6 + 0.4 * sin(2 * Double.pi * 4 * t)) : 0
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let noise = Double(Int64(bitPattern: state) >> 11) / Double(1 << 52) * 0.01
        for _ in 0..<channels { samples.append(Float(burst + noise)) }
    }
    return samples
}
