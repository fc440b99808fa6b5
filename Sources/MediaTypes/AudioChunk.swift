/// A run of captured audio: interleaved Float32 samples in [-1, 1] at the source's own rate
/// and channel count, stamped with the capture time of its first frame.
///
/// Sources convert whatever the device gives (S16, S32, float) to Float32 but keep its rate
/// and channels; resampling to the engine's 16 kHz mono is the engine's job, so it can keep
/// its filter state between chunks.
public struct AudioChunk: Sendable, Equatable {
    /// Interleaved samples: frame `f`, channel `c` is at `f * channels + c`.
    public var samples: [Float]
    /// Frames per second of this stream.
    public var sampleRate: Int
    /// Samples per frame (1 mono, 2 stereo, …).
    public var channels: Int
    /// Capture time of the first frame.
    public var time: MediaTime

    /// - Important: `samples.count` must be a whole number of frames.
    public init(samples: [Float], sampleRate: Int, channels: Int, time: MediaTime) {
        precondition(sampleRate > 0, "sample rate must be positive")
        precondition(channels > 0, "channel count must be positive")
        precondition(samples.count % channels == 0, "samples must hold whole frames")
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
        self.time = time
    }

    /// Number of frames (samples per channel).
    public var frameCount: Int { samples.count / channels }

    /// Capture time just past the last frame.
    public var endTime: MediaTime { time.advanced(bySamples: frameCount, sampleRate: sampleRate) }

    /// Length of the chunk.
    public var duration: MediaDuration { endTime - time }
}
