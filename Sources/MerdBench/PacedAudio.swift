import Locking
import MediaTypes

/// Samples delivered as a microphone would: 20 ms chunks at 16 kHz mono, each when its last
/// sample has been "captured" on the pacer's clock.
package struct PacedAudio: AudioSource {
    package static let sampleRate = 16000
    /// 20 ms, a typical capture period.
    package static let chunkSamples = 320

    package let samples: [Float]
    /// Sample 0 is due at the pacer's start.
    package let pacer: RealTimePacer
    package var name: String { "bench:speech" }

    package init(samples: [Float], pacer: RealTimePacer) {
        self.samples = samples
        self.pacer = pacer
    }

    package func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let samples = samples, pacer = pacer, rate = Self.sampleRate, size = Self.chunkSamples
        let position = Locked(0)
        return AsyncThrowingStream {
            let offset = position.withLock { p -> Int in defer { p += size }; return p }
            guard offset < samples.count else { return nil }
            let end = min(offset + size, samples.count)
            try await pacer.wait(until: MediaTime.zero.advanced(bySamples: end, sampleRate: rate))
            return AudioChunk(samples: Array(samples[offset..<end]), sampleRate: rate, channels: 1,
                              time: pacer.clockTime(of: MediaTime.zero.advanced(bySamples: offset, sampleRate: rate)))
        }
    }
}
