import MediaTypes
import NeuralKit
import StreamEngine

/// A speech emotion model's whole-utterance estimate for random audio of one length: the
/// median of timed repeats after a warm-up, set against the work it takes
/// (`merd bench speech-emotion`).
package struct SpeechEmotionBenchmark {
    package let model: SpeechEmotionModel
    /// Timed repeats per length, after one warm-up.
    package let repeats: Int

    package init(model: SpeechEmotionModel, repeats: Int = 5) {
        precondition(repeats > 0, "repeats must be positive")
        self.model = model
        self.repeats = repeats
    }

    /// Times `seconds` of uniform noise in ±0.3 drawn from `random`, through `estimate`
    /// (normalisation, front end, every layer, the final norm, pooling, the head).
    package func measure(seconds: Double, using random: inout some RandomNumberGenerator) throws(SpeechEmotionError)
        -> SpeechEmotionBenchmarkResult
    {
        ComputeThreads.adopt()
        let samples = Int(seconds * 16000)
        let audio = (0..<samples).map { _ in Float.random(in: -0.3...0.3, using: &random) }
        _ = try model.estimate(audio)  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            _ = try model.estimate(audio)
            times.append((ContinuousClock.now - start).seconds)
        }
        let configuration = model.encoder.configuration
        let flops = configuration.frontEndFLOPs(samples: samples)
            + configuration.encoderFLOPs(frames: configuration.frameCount(samples: samples), layers: configuration.hiddenLayers)
        return SpeechEmotionBenchmarkResult(audioSeconds: seconds, medianSeconds: times.sorted()[times.count / 2], flops: flops)
    }
}

/// One length's timing of ``SpeechEmotionBenchmark``.
package struct SpeechEmotionBenchmarkResult: Sendable, Equatable {
    /// Length of the audio, seconds.
    package let audioSeconds: Double
    /// Median over the timed repeats of one estimate, seconds.
    package let medianSeconds: Double
    /// Floating-point operations of one estimate (front end, positional conv, every layer;
    /// the head's are negligible).
    package let flops: Double

    /// Compute time per second of audio (below 1: faster than real time).
    package var realTimeFactor: Double { medianSeconds / audioSeconds }
    /// The rate the median estimate reached.
    package var gigaFLOPsPerSecond: Double { flops / medianSeconds / 1e9 }
}
