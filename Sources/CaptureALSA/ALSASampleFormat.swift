import CALSA

/// The PCM sample formats merd reads, in the order it prefers them when a device offers
/// several (float needs no conversion, then the widest integer).
enum ALSASampleFormat: CaseIterable, CustomStringConvertible {
    case float32
    case signed32
    case signed16

    var alsa: snd_pcm_format_t {
        switch self {
        case .float32: return SND_PCM_FORMAT_FLOAT_LE
        case .signed32: return SND_PCM_FORMAT_S32_LE
        case .signed16: return SND_PCM_FORMAT_S16_LE
        }
    }

    var bytesPerSample: Int {
        switch self {
        case .float32, .signed32: return 4
        case .signed16: return 2
        }
    }

    var description: String {
        switch self {
        case .float32: return "FLOAT_LE"
        case .signed32: return "S32_LE"
        case .signed16: return "S16_LE"
        }
    }

    /// Converts `count` interleaved samples of this format to Float32 in [-1, 1].
    func convert(_ source: UnsafeRawPointer, count: Int, into destination: inout [Float]) {
        destination.removeAll(keepingCapacity: true)
        destination.reserveCapacity(count)
        switch self {
        case .float32:
            let samples = source.assumingMemoryBound(to: Float.self)
            destination.append(contentsOf: UnsafeBufferPointer(start: samples, count: count))
        case .signed32:
            let samples = source.assumingMemoryBound(to: Int32.self)
            for i in 0..<count { destination.append(Float(Int32(littleEndian: samples[i])) * (1 / 2_147_483_648)) }
        case .signed16:
            let samples = source.assumingMemoryBound(to: Int16.self)
            for i in 0..<count { destination.append(Float(Int16(littleEndian: samples[i])) * (1 / 32768)) }
        }
    }
}
