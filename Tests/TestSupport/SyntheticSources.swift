import Locking
import Foundation
import MediaTypes
import NeuralKit
import Synchronization

/// Speech-like test audio at 16 kHz: a quiet noise floor with loud harmonic bursts where the
/// script says "speech", so the energy segmenter finds exactly those spans.
public struct SyntheticSpeech: Sendable {
    public enum Part: Sendable {
        case silence(seconds: Double)
        case speech(seconds: Double)
    }

    public static let sampleRate = 16_000
    public let samples: [Float]
    /// Where each speech part lies, in samples.
    public let speechSpans: [Range<Int>]

    public init(_ parts: [Part], seed: UInt64 = 7) {
        var random = SplitMix64(seed: seed)
        var samples: [Float] = []
        var spans: [Range<Int>] = []
        for part in parts {
            switch part {
            case .silence(let seconds):
                samples += (0..<Int(seconds * Double(Self.sampleRate))).map { _ in Float.random(in: -0.001...0.001, using: &random) }
            case .speech(let seconds):
                let start = samples.count
                samples += (0..<Int(seconds * Double(Self.sampleRate))).map { i in
                    let t = Double(i) / Double(Self.sampleRate)
                    return Float(0.2 * sin(2 * .pi * 180 * t) + 0.1 * sin(2 * .pi * 540 * t) + 0.05 * sin(2 * .pi * 1260 * t))
                        + Float.random(in: -0.001...0.001, using: &random)
                }
                spans.append(start..<samples.count)
            }
        }
        self.samples = samples
        speechSpans = spans
    }
}

/// An audio source over samples in memory: 20 ms chunks stamped from `origin`, delivered at
/// once or paced as a microphone delivers them. It can report made-up loss counts.
public struct MemoryAudioSource: AudioSource {
    public let name: String
    public let samples: [Float]
    public let sampleRate: Int
    public let paced: Bool
    public let origin: MediaTime
    private let counts = LossCounts()

    public init(name: String = "memory:audio", samples: [Float], sampleRate: Int = 16_000, paced: Bool = false, origin: MediaTime = .zero) {
        self.name = name
        self.samples = samples
        self.sampleRate = sampleRate
        self.paced = paced
        self.origin = origin
    }

    public var statusCounts: SourceStatusCounts { counts.value.withLock { $0 } }
    public func setCounts(_ value: SourceStatusCounts) { counts.value.withLock { $0 = value } }

    public func chunks() throws(CaptureError) -> AsyncThrowingStream<AudioChunk, any Error> {
        let (samples, rate, paced, origin) = (self.samples, sampleRate, self.paced, self.origin)
        let chunk = rate / 50
        let start = ContinuousClock.now
        let cursor = Cursor()
        return AsyncThrowingStream {
            let offset = cursor.position.load(ordering: .relaxed)
            guard offset < samples.count, !Task.isCancelled else { return nil }
            let end = min(samples.count, offset + chunk)
            cursor.position.store(end, ordering: .relaxed)
            if paced {
                try? await Task.sleep(until: start + .microseconds(Int64(end) * 1_000_000 / Int64(rate)), clock: .continuous)
            }
            return AudioChunk(samples: Array(samples[offset..<end]), sampleRate: rate, channels: 1,
                              time: origin.advanced(bySamples: offset, sampleRate: rate))
        }
    }
}

/// A video source of small grey frames at `framesPerSecond`, stamped from `origin`; after
/// `frames` frames it ends, or (`hangs`) stays open without frames until cancelled, like a
/// camera that stalled.
public struct MemoryVideoSource: VideoSource {
    public let name: String
    public let frameCount: Int
    public let framesPerSecond: Double
    public let hangs: Bool
    public let origin: MediaTime
    private let counts = LossCounts()

    public init(name: String = "memory:video", frames: Int, framesPerSecond: Double = 10, hangs: Bool = false, origin: MediaTime = .zero) {
        self.name = name
        self.frameCount = frames
        self.framesPerSecond = framesPerSecond
        self.hangs = hangs
        self.origin = origin
    }

    public var statusCounts: SourceStatusCounts { counts.value.withLock { $0 } }
    public func setCounts(_ value: SourceStatusCounts) { counts.value.withLock { $0 = value } }

    public func frames() throws(CaptureError) -> AsyncThrowingStream<VideoFrame, any Error> {
        let (count, rate, hangs, origin) = (frameCount, framesPerSecond, self.hangs, self.origin)
        let cursor = Cursor()
        return AsyncThrowingStream {
            let index = cursor.position.add(1, ordering: .relaxed).oldValue
            if index >= count {
                guard hangs else { return nil }
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                return nil
            }
            let time = MediaTime(nanoseconds: origin.nanoseconds + Int64(Double(index) / rate * 1e9))
            return try VideoFrame(packed: [UInt8](repeating: 128, count: 16 * 16 * 3), width: 16, height: 16, format: .rgb24, time: time)
        }
    }
}

/// Where a memory source's stream is (its stream's closure is `@Sendable`).
final class Cursor: Sendable {
    let position = Atomic<Int>(0)
}

/// Loss counts a test sets on a memory source.
final class LossCounts: Sendable {
    let value = Locked(SourceStatusCounts())
}
