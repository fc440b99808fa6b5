import Foundation

/// Noise recordings to mix under speech: every file FFmpeg reads in a directory, at 16 kHz mono.
package struct NoiseLibrary: Sendable {
    /// The shortest recording kept, in 16 kHz samples (0.1 s).
    package static let minimumSamples = 1600

    package let recordings: [(name: String, samples: [Float])]

    package init(directory: String) throws(ClipFeatureError) {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { !$0.hasPrefix(".") }
        } catch {
            throw .noiseDirectoryUnreadable(directory: directory, reason: error.localizedDescription)
        }
        var recordings: [(String, [Float])] = []
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            // Files FFmpeg cannot read as audio (a README, a picture) are skipped, not fatal.
            guard let samples = try? ClipFeatureExtractor.audio(path), samples.count >= Self.minimumSamples,
                  samples.contains(where: { $0 != 0 }) else { continue }
            recordings.append((file, samples))
        }
        guard !recordings.isEmpty else { throw .noNoiseRecordings(directory: directory, minimumSamples: Self.minimumSamples) }
        self.recordings = recordings
    }

    /// A recording and a start offset in it, drawn at random.
    package func draw(using random: inout some RandomNumberGenerator) -> (samples: [Float], offset: Int) {
        let recording = recordings.randomElement(using: &random)!
        return (recording.samples, Int.random(in: 0..<recording.samples.count, using: &random))
    }
}
