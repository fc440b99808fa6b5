import CaptureFile
import FusionTraining
import MediaTypes

/// A stream of real speech as a microphone would hear someone talk: EmoDB recordings trimmed
/// to their voiced span, joined into utterances of 2–6 s, a fixed silence after each, and where
/// every utterance's speech ends — the truth an event's arrival is measured against.
///
/// Utterance `u` joins 1, 2 or 3 recordings (`u % 3 + 1`, one more while it is under 2 s),
/// 50 ms apart: shorter than the segmenter's hangover, so each is one utterance to it. The
/// stream opens with 1 s of silence and closes with the gap and 1 s more.
package struct BenchmarkSpeech: Sendable {
    package static let sampleRate = 16000
    /// Silence joining recordings inside one utterance, samples (50 ms).
    package static let joinSamples = 800

    /// The stream, 16 kHz mono.
    package let samples: [Float]
    /// Each utterance's length (speech and its joins), seconds.
    package let spanSeconds: [Double]
    /// Where each utterance's speech ends, seconds into the stream.
    package let speechEndSeconds: [Double]
    /// Silence after each utterance, seconds.
    package let gapSeconds: Double

    /// The stream's length, seconds.
    package var seconds: Double { Double(samples.count) / Double(Self.sampleRate) }

    /// From the recordings of `dataFolder`/emodb/wav in file-name order, as many as
    /// `utterances` can use (up to three each).
    package init(dataFolder: String, utterances: Int, gapSeconds: Double) throws {
        let folder = dataFolder + "/emodb/wav"
        let files = try DataFolder.files(in: folder, endingIn: ".wav")
        var recordings: [[Float]] = []
        for file in files.prefix(utterances * 3) {
            let piece = SegmentationCorpus.Piece(oracle: try AudioFileReader.decodeMono16k(folder + "/" + file))
            recordings.append(Array(piece.audio[piece.speechStart..<piece.speechEnd]))
        }
        self.init(recordings: recordings, utterances: utterances, gapSeconds: gapSeconds)
    }

    /// From voiced recordings (16 kHz), used in order; fewer utterances when they run out.
    package init(recordings: [[Float]], utterances: Int, gapSeconds: Double) {
        let gap = [Float](repeating: 0, count: Int(gapSeconds * Double(Self.sampleRate)))
        let join = [Float](repeating: 0, count: Self.joinSamples)
        var samples = [Float](repeating: 0, count: Self.sampleRate)
        var spans: [Double] = []
        var ends: [Double] = []
        var index = 0
        for u in 0..<utterances where index < recordings.count {
            var utterance: [Float] = []
            for p in 0...(u % 3) where index < recordings.count {
                if p > 0 { utterance += join }
                utterance += recordings[index]
                index += 1
            }
            if utterance.count < 2 * Self.sampleRate, index < recordings.count {
                utterance += join + recordings[index]
                index += 1
            }
            spans.append(Double(utterance.count) / Double(Self.sampleRate))
            ends.append(Double(samples.count + utterance.count) / Double(Self.sampleRate))
            samples += utterance + gap
        }
        self.samples = samples + [Float](repeating: 0, count: Self.sampleRate)
        spanSeconds = spans
        speechEndSeconds = ends
        self.gapSeconds = gapSeconds
    }

    /// The end of speech nearest to `seconds` into the stream, when one is within `tolerance`.
    package func speechEnd(near seconds: Double, tolerance: Double) -> Double? {
        guard let nearest = speechEndSeconds.min(by: { abs($0 - seconds) < abs($1 - seconds) }),
              abs(nearest - seconds) < tolerance else { return nil }
        return nearest
    }
}
