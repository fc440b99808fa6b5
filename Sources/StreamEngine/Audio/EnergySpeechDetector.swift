import Foundation

/// Speech by band energy over an adaptive noise floor, with hysteresis: band-pass
/// 200–3500 Hz (where speech is and hum and hiss are not), 10 ms frame energy in dB, noise
/// floor = minimum over the last 3 s, start/continue margins above it. Cost: two biquads and
/// a sum per sample. Built for steady noise; other voices pass as speech (docs/noise.md).
public struct EnergySpeechDetector: SpeechFrameDetecting {
    public let sampleRate: Int
    public let frameSamples: Int
    let startMarginDecibels: Double, continueMarginDecibels: Double, absoluteFloorDecibels: Double

    private var band: BandLevel
    private var noise: SlidingMinimum

    public init(parameters: SegmenterParameters = SegmenterParameters(), sampleRate: Int = 16000) {
        self.sampleRate = sampleRate
        frameSamples = max(1, parameters.frameMilliseconds * sampleRate / 1000)
        startMarginDecibels = parameters.startMarginDecibels
        continueMarginDecibels = parameters.continueMarginDecibels
        absoluteFloorDecibels = parameters.absoluteFloorDecibels
        band = BandLevel(sampleRate: sampleRate)
        noise = SlidingMinimum(window: max(1, parameters.noiseWindowMilliseconds / max(1, parameters.frameMilliseconds)))
    }

    public mutating func classify(_ frame: ArraySlice<Float>) -> SpeechFrame {
        let decibels = band.decibels(frame)
        // Digital silence (a muted input, zero padding) counts as the absolute floor, not as
        // -120 dB: it must not drag the floor down to where any murmur counts as speech.
        let floor = noise.push(max(decibels, absoluteFloorDecibels))
        let loudEnough = decibels > absoluteFloorDecibels
        return SpeechFrame(startsSpeech: loudEnough && decibels > floor + startMarginDecibels,
                           continuesSpeech: loudEnough && decibels > floor + continueMarginDecibels)
    }
}

/// The level of a frame in the speech band, 200–3500 Hz (where speech is and hum and hiss
/// are not): dB of the band-passed samples' mean square. The filters run on across frames,
/// so one measures one stream.
struct BandLevel {
    private var highPass: Biquad
    private var lowPass: Biquad

    init(sampleRate: Int) {
        highPass = Biquad.highPass(cutoff: 200, sampleRate: Double(sampleRate))
        lowPass = Biquad.lowPass(cutoff: 3500, sampleRate: Double(sampleRate))
    }

    mutating func decibels(_ frame: ArraySlice<Float>) -> Double {
        var energy = 0.0
        for sample in frame {
            let filtered = lowPass.process(highPass.process(Double(sample)))
            energy += filtered * filtered
        }
        return 10 * log10(energy / Double(max(frame.count, 1)) + 1e-12)
    }
}

/// A second-order IIR filter (RBJ's audio EQ cookbook), Butterworth Q.
struct Biquad {
    let b0, b1, b2, a1, a2: Double
    var z1 = 0.0, z2 = 0.0

    static func lowPass(cutoff: Double, sampleRate: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate, alpha = sin(w) / (2 * 0.7071067811865476), c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    static func highPass(cutoff: Double, sampleRate: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate, alpha = sin(w) / (2 * 0.7071067811865476), c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    /// Transposed direct form II.
    @inline(__always)
    mutating func process(_ x: Double) -> Double {
        let y = b0 * x + z1
        z1 = b1 * x - a1 * y + z2
        z2 = b2 * x - a2 * y
        return y
    }
}

/// Minimum of the last `window` values, amortised O(1) per push (monotonic deque).
struct SlidingMinimum {
    let window: Int
    private var values: [(index: Int, value: Double)] = []
    private var head = 0
    private var count = 0

    init(window: Int) { self.window = window }

    /// Adds a value and returns the minimum of the window ending with it.
    mutating func push(_ value: Double) -> Double {
        while values.count > head && values[values.count - 1].value >= value { values.removeLast() }
        values.append((count, value))
        count += 1
        while values[head].index <= count - 1 - window { head += 1 }
        if head > 4096 {
            values.removeFirst(head)
            head = 0
        }
        return values[head].value
    }
}
