import CFFmpeg
import MediaTypes

/// Converts audio at any rate and channel count to the engine's 16 kHz mono Float32, as it
/// streams: libswresample keeps its filter state between chunks, so chunk borders leave no
/// trace. Channels are averaged (mono = mean of the channels), not mixed by a surround
/// matrix, so a mono signal duplicated on two channels keeps its level.
public final class Resampler {
    public let inputRate: Int
    public let inputChannels: Int
    public let outputRate: Int
    private var context: OpaquePointer?

    public init(inputRate: Int, inputChannels: Int, outputRate: Int = 16000) throws(ResamplerError) {
        guard inputRate > 0, outputRate > 0, (1...64).contains(inputChannels) else {
            throw .unsupported("rate \(inputRate) Hz, \(inputChannels) channels")
        }
        self.inputRate = inputRate
        self.inputChannels = inputChannels
        self.outputRate = outputRate
        do { try FFmpegLibraries.open(.avutil, .swresample) } catch { throw .unavailable(error) }
        var inputLayout = AVChannelLayout()
        var outputLayout = AVChannelLayout()
        av_channel_layout_default(&inputLayout, Int32(inputChannels))
        av_channel_layout_default(&outputLayout, 1)
        var status = swr_alloc_set_opts2(&context, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(outputRate),
                                         &inputLayout, AV_SAMPLE_FMT_FLT, Int32(inputRate), 0, nil)
        if status >= 0 {
            // Row = output channel, column = input channel: the mean of the inputs.
            let matrix = [Double](repeating: 1 / Double(inputChannels), count: inputChannels)
            status = swr_set_matrix(context, matrix, Int32(inputChannels))
        }
        if status >= 0 { status = swr_init(context) }
        guard status >= 0 else {
            swr_free(&context)
            throw .unsupported("libswresample refused \(inputRate) Hz × \(inputChannels) → \(outputRate) Hz mono (error \(status))")
        }
    }

    deinit { swr_free(&context) }

    /// Resamples interleaved `samples` (whole frames of `inputChannels`); returns what is
    /// ready. The filter's delay (a few ms) comes out with later chunks or `flush()`.
    public func process(_ samples: [Float]) -> [Float] {
        precondition(samples.count % inputChannels == 0, "samples must hold whole frames")
        let frames = samples.count / inputChannels
        return convert(frames: frames) { output, capacity in
            samples.withUnsafeBytes { bytes in
                var input: UnsafePointer<UInt8>? = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                var out: UnsafeMutablePointer<UInt8>? = output
                return swr_convert(context, &out, capacity, &input, Int32(frames))
            }
        }
    }

    /// Resamples one chunk of any rate and layout this resampler was made for.
    public func process(_ chunk: AudioChunk) -> [Float] {
        precondition(chunk.sampleRate == inputRate && chunk.channels == inputChannels,
                     "chunk is \(chunk.sampleRate) Hz × \(chunk.channels), resampler \(inputRate) Hz × \(inputChannels)")
        return process(chunk.samples)
    }

    /// The samples still inside the filter, at the end of a stream.
    public func flush() -> [Float] {
        convert(frames: 0) { output, capacity in
            var out: UnsafeMutablePointer<UInt8>? = output
            return swr_convert(context, &out, capacity, nil, 0)
        }
    }

    private func convert(frames: Int, _ body: (UnsafeMutablePointer<UInt8>, Int32) -> Int32) -> [Float] {
        let capacity = Int(swr_get_out_samples(context, Int32(frames))) + 16
        var output = [Float](repeating: 0, count: max(capacity, 1))
        let produced = output.withUnsafeMutableBytes { bytes in
            body(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(capacity))
        }
        precondition(produced >= 0, "swr_convert failed (\(produced)) on a context it accepted")
        output.removeLast(output.count - Int(produced))
        return output
    }
}

/// A conversion libswresample cannot make.
public enum ResamplerError: Error, Equatable, CustomStringConvertible {
    case unsupported(String)
    /// libswresample could not be opened.
    case unavailable(FFmpegUnavailable)

    public var description: String {
        switch self {
        case .unavailable(let error): return error.description
        case .unsupported(let detail): return "cannot resample \(detail)"
        }
    }
}
