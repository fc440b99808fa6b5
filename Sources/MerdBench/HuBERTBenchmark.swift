import MediaTypes
import NeuralKit
import StreamEngine

/// HuBERT's hidden states of every layer for random audio of one length: the median of
/// timed repeats after a warm-up, set against the work it takes (`merd bench hubert`).
package struct HuBERTBenchmark {
    /// The encoder, loaded with all its layers.
    package let encoder: HuBERT
    /// Timed repeats per length, after one warm-up.
    package let repeats: Int

    package init(encoder: HuBERT, repeats: Int = 5) {
        precondition(repeats > 0, "repeats must be positive")
        self.encoder = encoder
        self.repeats = repeats
    }

    /// Times `seconds` of uniform noise in ±0.3 drawn from `random`.
    package func measure(seconds: Double, using random: inout some RandomNumberGenerator) throws(HuBERTError) -> HuBERTBenchmarkResult {
        ComputeThreads.adopt()
        let samples = Int(seconds * 16000)
        let audio = (0..<samples).map { _ in Float.random(in: -0.3...0.3, using: &random) }
        let layers = Array(0...encoder.hiddenLayers)
        // Where the time goes: the front end alone, once, before the passes (after them it
        // would run in the heap the last pass left, and count in the process's peak).
        let frontStart = ContinuousClock.now
        _ = encoder.frontEnd(audio: audio)
        let frontEnd = (ContinuousClock.now - frontStart).seconds
        _ = try encoder.hiddenStates(audio: audio, layers: layers)  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            _ = try encoder.hiddenStates(audio: audio, layers: layers)
            times.append((ContinuousClock.now - start).seconds)
        }
        let configuration = encoder.configuration
        let flops = configuration.frontEndFLOPs(samples: samples)
            + configuration.encoderFLOPs(frames: configuration.frameCount(samples: samples), layers: encoder.hiddenLayers)
        return HuBERTBenchmarkResult(audioSeconds: seconds, medianSeconds: times.sorted()[times.count / 2],
                                     frontEndSeconds: frontEnd, flops: flops)
    }
}

/// One length's timing of ``HuBERTBenchmark``.
package struct HuBERTBenchmarkResult: Sendable, Equatable {
    /// Length of the audio, seconds.
    package let audioSeconds: Double
    /// Median over the timed repeats of all hidden states, seconds.
    package let medianSeconds: Double
    /// The conv front end alone, timed once, seconds.
    package let frontEndSeconds: Double
    /// Floating-point operations of one pass (front end, positional conv, every layer).
    package let flops: Double

    /// Compute time per second of audio (below 1: faster than real time).
    package var realTimeFactor: Double { medianSeconds / audioSeconds }
    /// The rate the median pass reached, to set against ``GEMMPeak`` of the same run.
    package var gigaFLOPsPerSecond: Double { flops / medianSeconds / 1e9 }
}
