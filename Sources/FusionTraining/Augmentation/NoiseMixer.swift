import Foundation
import StreamEngine

/// Adds noise to speech at a signal-to-noise ratio measured on the speech alone (the paper's
/// MER-NOISE recipe: MUSAN speech noise at 5–11 dB): the noise is scaled so that, over the
/// samples where someone speaks, speech power / noise power is the requested ratio. Silences
/// do not dilute the speech power, so "10 dB" means what a listener hears during speech.
public enum NoiseMixer {
    /// Sample ranges of `speech` that hold speech: the utterances the segmenter finds in it,
    /// or the whole signal when it finds none (a clip that is all speech, or too short).
    public static func speechRanges(_ speech: [Float]) -> [Range<Int>] {
        var segmenter = EnergySegmenter()
        let events = segmenter.process(speech) + segmenter.finish()
        let ranges = events.compactMap { event -> Range<Int>? in
            if case .utterance(let u) = event { return u.startSample..<u.endSample }
            return nil
        }
        return ranges.isEmpty ? [0..<speech.count] : ranges
    }

    /// Mean power of `signal` over `ranges`.
    public static func power(_ signal: [Float], over ranges: [Range<Int>]) -> Double {
        var sum = 0.0, count = 0
        for range in ranges {
            for i in range where i < signal.count { sum += Double(signal[i]) * Double(signal[i]) }
            count += range.count
        }
        return count > 0 ? sum / Double(count) : 0
    }

    /// `noise` laid under `speech` from `offset` (looping when shorter), scaled to `snr` dB
    /// below the speech over `ranges`, added. Returns the mix and the noise as added.
    public static func mix(speech: [Float], noise: [Float], snr: Double, ranges: [Range<Int>], offset: Int = 0)
        -> (mixed: [Float], noise: [Float])
    {
        precondition(!noise.isEmpty, "noise must have samples")
        var laid = [Float](repeating: 0, count: speech.count)
        for i in 0..<speech.count { laid[i] = noise[(offset + i) % noise.count] }
        let speechPower = power(speech, over: ranges), noisePower = power(laid, over: ranges)
        guard noisePower > 0, speechPower > 0 else { return (speech, [Float](repeating: 0, count: speech.count)) }
        let gain = Float((speechPower / (noisePower * pow(10, snr / 10))).squareRoot())
        for i in laid.indices { laid[i] *= gain }
        return (zip(speech, laid).map { $0 + $1 }, laid)
    }

    /// The SNR of a mix, in dB, from its parts.
    public static func measuredSNR(speech: [Float], noise: [Float], ranges: [Range<Int>]) -> Double {
        10 * log10(power(speech, over: ranges) / power(noise, over: ranges))
    }
}
