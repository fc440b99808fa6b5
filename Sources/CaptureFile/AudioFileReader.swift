import CFFmpeg
import MediaCodec
import MediaTypes

/// Decodes the audio of any file FFmpeg reads (WAV, MP3, FLAC, the audio track of an MPEG
/// or MP4 video…) into Float32 chunks at the file's own rate and channel count.
///
/// The decoder's sample format (S16, planar float, …) becomes interleaved Float32 through
/// libswresample at the same rate. Chunk times run on the file's timeline: the first frame's
/// presentation time, then the running sample count (no jitter from rounded timestamps).
public final class AudioFileReader {
    /// The path, as given.
    public let path: String
    /// The audio stream's sample rate and channel count.
    public let sampleRate: Int
    public let channels: Int

    private let decoder: MediaStreamDecoder
    private var converter: OpaquePointer?
    private var origin: MediaTime?
    private var samplesDelivered = 0

    /// Opens `path` and its best audio stream.
    public init(path: String) throws(CaptureError) {
        self.path = path
        decoder = try MediaStreamDecoder(path: path, kind: AVMEDIA_TYPE_AUDIO)
        sampleRate = Int(decoder.codec.pointee.sample_rate)
        channels = Int(decoder.codec.pointee.ch_layout.nb_channels)
        guard sampleRate > 0, channels > 0 else {
            throw .unsupportedFormat(source: path, detail: "audio stream states rate \(sampleRate), \(channels) channels")
        }
    }

    deinit { swr_free(&converter) }

    /// The next decoded chunk, or nil at the end of the stream.
    /// Damaged packets skipped so far, and a read error that ended the stream.
    public var damage: StreamDamage { decoder.damage }

    public func nextChunk() throws(CaptureError) -> AudioChunk? {
        while true {
            let (decoded, seconds) = try decoder.decodeNext()
            guard decoded else { return nil }
            defer { av_frame_unref(decoder.frame) }
            let samples = try convert(decoder.frame)
            if samples.isEmpty { continue }
            if origin == nil { origin = MediaTime(seconds: max(0, seconds ?? 0)) }
            let time = origin!.advanced(bySamples: samplesDelivered, sampleRate: sampleRate)
            samplesDelivered += samples.count / channels
            return AudioChunk(samples: samples, sampleRate: sampleRate, channels: channels, time: time)
        }
    }

    /// Every remaining sample, interleaved.
    public func readAll() throws(CaptureError) -> [Float] {
        var all: [Float] = []
        while let chunk = try nextChunk() { all += chunk.samples }
        return all
    }

    /// The whole audio of `path` as 16 kHz mono Float32 (what the segmenter and HuBERT read),
    /// through libswresample: the one way merd decodes a file for speech.
    public static func decodeMono16k(_ path: String) throws(CaptureError) -> [Float] {
        let reader = try AudioFileReader(path: path)
        let resampler: Resampler
        do { resampler = try Resampler(inputRate: reader.sampleRate, inputChannels: reader.channels) } catch {
            throw .unsupportedFormat(source: path, detail: error.description)
        }
        var samples: [Float] = []
        while let chunk = try reader.nextChunk() { samples += resampler.process(chunk) }
        return samples + resampler.flush()
    }

    /// The frame's samples as interleaved Float32, whatever the decoder's format.
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws(CaptureError) -> [Float] {
        let count = Int(frame.pointee.nb_samples)
        if converter == nil {
            var outputLayout = frame.pointee.ch_layout
            var inputLayout = frame.pointee.ch_layout
            let status = swr_alloc_set_opts2(&converter, &outputLayout, AV_SAMPLE_FMT_FLT, frame.pointee.sample_rate,
                                             &inputLayout, AVSampleFormat(frame.pointee.format), frame.pointee.sample_rate, 0, nil)
            guard status >= 0, swr_init(converter) >= 0 else {
                throw .unsupportedFormat(source: path, detail: "cannot convert its sample format \(frame.pointee.format)")
            }
        }
        var output = [Float](repeating: 0, count: count * channels)
        let converted = output.withUnsafeMutableBytes { bytes -> Int32 in
            var out: UnsafeMutablePointer<UInt8>? = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let input = UnsafeMutablePointer<UnsafePointer<UInt8>?>(OpaquePointer(frame.pointee.extended_data))
            return swr_convert(converter, &out, Int32(count), input, Int32(count))
        }
        guard converted >= 0 else { throw .failed(source: path, reason: "sample conversion failed: \(ffmpegMessage(converted))") }
        output.removeLast((count - Int(converted)) * channels)
        return output
    }
}
