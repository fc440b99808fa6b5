import MediaCodec
import Foundation
import StreamEngine
import Testing

/// Level of frequency `hertz` in `signal` at `rate` (Goertzel), as an amplitude.
func toneAmplitude(_ signal: ArraySlice<Float>, hertz: Double, rate: Double) -> Double {
    let w = 2 * Double.pi * hertz / rate
    var (s1, s2) = (0.0, 0.0)
    for x in signal {
        let s = Double(x) + 2 * cos(w) * s1 - s2
        s2 = s1
        s1 = s
    }
    let power = s1 * s1 + s2 * s2 - 2 * cos(w) * s1 * s2
    return 2 * power.squareRoot() / Double(signal.count)
}

func tone(hertz: Double, rate: Int, seconds: Double, channels: Int, amplitude: Float = 0.5) -> [Float] {
    let frames = Int(Double(rate) * seconds)
    return (0..<(frames * channels)).map { i in amplitude * Float(sin(2 * Double.pi * hertz * Double(i / channels) / Double(rate))) }
}

@Suite("Resampling to 16 kHz mono")
struct ResamplerTests {
    @Test("a tone keeps its frequency and level", arguments: [(44100, 2), (48000, 1), (22050, 1), (8000, 1), (16000, 2)])
    func toneKept(format: (Int, Int)) throws {
        let (rate, channels) = format
        let resampler = try Resampler(inputRate: rate, inputChannels: channels)
        let output = resampler.process(tone(hertz: 1000, rate: rate, seconds: 1, channels: channels)) + resampler.flush()
        #expect(abs(output.count - 16000) <= 2, "\(output.count) samples for 1 s")
        // Away from the edges (filter warm-up), the 1 kHz amplitude is 0.5 within 0.1 dB.
        let middle = output[2000..<14000]
        let level = toneAmplitude(middle, hertz: 1000, rate: 16000)
        #expect(abs(20 * log10(level / 0.5)) < 0.1, "level \(level)")
        #expect(toneAmplitude(middle, hertz: 1100, rate: 16000) < 0.005, "energy stays at 1 kHz")
    }

    @Test("images above 8 kHz are suppressed by at least 60 dB")
    func imagesSuppressed() throws {
        for (hertz, rate) in [(10_000.0, 44100), (12_000.0, 48000), (9_000.0, 22050)] {
            let resampler = try Resampler(inputRate: rate, inputChannels: 1)
            let output = resampler.process(tone(hertz: hertz, rate: rate, seconds: 1, channels: 1)) + resampler.flush()
            let alias = 16000 - hertz  // where a 10 kHz tone would fold to
            let rms = (output[2000..<14000].map { Double($0) * Double($0) }.reduce(0, +) / 12000).squareRoot() * 2.0.squareRoot()
            let suppression = 20 * log10(0.5 / max(rms, 1e-12))
            print("resampler: \(Int(hertz)) Hz at \(rate) Hz suppressed by \(String(format: "%.1f", suppression)) dB (alias at \(Int(alias)) Hz)")
            #expect(suppression >= 60, "\(hertz) Hz at \(rate): \(suppression) dB")
        }
    }

    @Test("chunk borders leave no trace: any chunking gives the same samples")
    func chunkingInvariant() throws {
        let input = tone(hertz: 440, rate: 44100, seconds: 0.5, channels: 2)
        let whole = try Resampler(inputRate: 44100, inputChannels: 2)
        let expected = whole.process(input) + whole.flush()
        for chunkFrames in [1, 7, 441, 1000] {
            let resampler = try Resampler(inputRate: 44100, inputChannels: 2)
            var output: [Float] = []
            for start in stride(from: 0, to: input.count, by: 2 * chunkFrames) {
                output += resampler.process(Array(input[start..<min(start + 2 * chunkFrames, input.count)]))
            }
            output += resampler.flush()
            #expect(output.count == expected.count, "chunks of \(chunkFrames)")
            let worst = zip(output, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "chunks of \(chunkFrames): worst difference \(worst)")
        }
    }

    @Test("stereo becomes the mean of its channels")
    func downmix() throws {
        let resampler = try Resampler(inputRate: 16000, inputChannels: 2)
        let left = tone(hertz: 500, rate: 16000, seconds: 0.5, channels: 1)
        let stereo: [Float] = left.flatMap { [$0, Float(0)] }  // right channel silent
        let output = resampler.process(stereo) + resampler.flush()
        let level = toneAmplitude(output[1000..<7000], hertz: 500, rate: 16000)
        #expect(abs(level - 0.25) < 0.003, "half the level of the one loud channel: \(level)")
    }

    @Test("impossible formats are refused")
    func refused() {
        #expect(throws: ResamplerError.self) { try Resampler(inputRate: 0, inputChannels: 1) }
        #expect(throws: ResamplerError.self) { try Resampler(inputRate: 16000, inputChannels: 0) }
    }
}
