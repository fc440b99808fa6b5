import Foundation
import CFFmpeg

/// Short-time energy of a signal in a few frequency bands, in dB, one row per hop: how the
/// sound's spectrum moves, not only its loudness. A real FFT from libavutil (`av_tx`, RDFT)
/// over Hann-windowed frames.
///
/// Not thread-safe (the FFT context is reused); make one per thread.
public final class BandEnergies {
    /// Band edges in Hz, each [low, high).
    public let bands: [(low: Double, high: Double)]
    public let sampleRate: Int
    /// Frame length and hop, samples.
    public let window: Int
    public let hop: Int
    private let size: Int
    private var context: OpaquePointer?
    private let transform: av_tx_fn
    private let taper: [Float]
    /// Per band, the FFT bins it sums: [first, end).
    private let binRanges: [Range<Int>]
    /// The transform's buffers, from av_malloc: its SIMD code stores with aligned moves
    /// (32 bytes for AVX), which Swift's arrays do not promise. The real input, then
    /// size / 2 + 1 complex outputs.
    private let input: UnsafeMutablePointer<Float>
    private let output: UnsafeMutablePointer<Float>

    /// Defaults: 25-ms frames every 10 ms, as speech front ends take them. Nil when libavutil
    /// cannot be opened or cannot make the transform (out of memory).
    public init?(bands: [(low: Double, high: Double)], sampleRate: Int = 16000, windowSeconds: Double = 0.025, hopSeconds: Double = 0.01) {
        precondition(!bands.isEmpty && sampleRate > 0 && windowSeconds > 0 && hopSeconds > 0)
        guard (try? FFmpegLibraries.open(.avutil)) != nil else { return nil }
        self.bands = bands
        self.sampleRate = sampleRate
        window = max(2, Int((windowSeconds * Double(sampleRate)).rounded()))
        hop = max(1, Int((hopSeconds * Double(sampleRate)).rounded()))
        var size = 2
        while size < window { size *= 2 }
        self.size = size
        var scale: Float = 1
        var function: av_tx_fn?
        let status = av_tx_init(&context, &function, AV_TX_FLOAT_RDFT, 0, Int32(size), &scale, 0)
        let inputBytes = av_malloc(MemoryLayout<Float>.stride * size), outputBytes = av_malloc(MemoryLayout<Float>.stride * (size + 2))
        guard status >= 0, let function, let inputBytes, let outputBytes else {
            av_tx_uninit(&context)
            av_free(inputBytes)
            av_free(outputBytes)
            return nil
        }
        transform = function
        input = inputBytes.bindMemory(to: Float.self, capacity: size)
        output = outputBytes.bindMemory(to: Float.self, capacity: size + 2)
        input.initialize(repeating: 0, count: size)
        output.initialize(repeating: 0, count: size + 2)
        // Periodic Hann: the frames overlap-add to a constant.
        let length = window
        taper = (0..<length).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(length))) }
        let binHz = Double(sampleRate) / Double(size)
        binRanges = bands.map { band in
            let first = Int((band.low / binHz).rounded(.up)), end = Int((band.high / binHz).rounded(.up))
            return min(first, size / 2 + 1)..<min(max(first, end), size / 2 + 1)
        }
    }

    deinit {
        av_tx_uninit(&context)
        av_free(input)
        av_free(output)
    }

    /// Rows of band levels (dB; 10·log10 of the summed power + 1e-8) for each full frame of
    /// `samples`; frame `i` starts at sample `i · hop`, its centre at `i · hop + window / 2`.
    public func levels(_ samples: ArraySlice<Float>) -> [[Double]] {
        guard samples.count >= window else { return [] }
        let frames = (samples.count - window) / hop + 1
        var rows: [[Double]] = []
        rows.reserveCapacity(frames)
        for frame in 0..<frames {
            let start = samples.startIndex + frame * hop
            for i in 0..<window { input[i] = samples[start + i] * taper[i] }
            // The samples past the window stay zero (set at init, never written).
            transform(context, output, input, MemoryLayout<Float>.stride * 2)
            rows.append(binRanges.map { range in
                var power = 0.0
                for bin in range { power += Double(output[2 * bin] * output[2 * bin] + output[2 * bin + 1] * output[2 * bin + 1]) }
                return 10 * log10(power + 1e-8)
            })
        }
        return rows
    }
}
