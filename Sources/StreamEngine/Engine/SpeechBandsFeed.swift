import MediaCodec

/// The sound's ``ActiveSpeaker/SpeechBands`` of each utterance, made as its audio arrives.
///
/// The FFTs of a long utterance's bands take milliseconds; made at its end, they came
/// between the segmenter's confirmation and the event (1–6 ms of the event's latency in
/// `merd bench engine`). Fed on the audio loop a chunk at a time, each open utterance's
/// frames are transformed once they are whole, so that at the end only the rows are taken.
/// The rows are the ones `SpeechBands(samples:)` gives for the same samples: the same frames
/// from the same first sample (`ActiveSpeaker.leadSeconds` before the utterance, for the lips
/// that part before the sound), through the same transform.
///
/// Not thread-safe (its transform is reused): the audio loop's own.
struct SpeechBandsFeed {
    let sampleRate: Int
    private let analyser: BandEnergies
    /// The stream's last seconds, to reach back before an utterance's first sample, which the
    /// segmenter reports after it.
    private var recent: RecentAudio
    /// The open utterances' bands so far (one, or two where one ends as the next begins).
    /// An array, mutated by index: a dictionary's `keys` iterated while its values change
    /// keeps its storage shared, and every chunk would copy each utterance's rows.
    private var open: [(id: Int, partial: Partial)] = []

    /// Nil when libavutil cannot make its transform.
    init?(sampleRate: Int) {
        guard let analyser = BandEnergies(bands: ActiveSpeaker.bands, sampleRate: sampleRate) else { return nil }
        self.sampleRate = sampleRate
        self.analyser = analyser
        recent = RecentAudio(capacity: 2 * sampleRate)
    }

    /// The stream's next samples.
    mutating func append(_ samples: [Float]) {
        recent.append(samples)
        for index in open.indices { open[index].partial.append(samples, analyser) }
    }

    /// Utterance `id` began at stream index `startSample` (its samples so far already
    /// appended).
    mutating func begin(utterance id: Int, startSample: Int) {
        // From the lead's first sample, or the oldest held if the stream began later.
        let samples = recent.slice(from: startSample - Int(ActiveSpeaker.leadSeconds * Double(sampleRate)), to: recent.end)
        open.removeAll { $0.id == id }
        open.append((id, Partial(first: recent.end - samples.count, samples: samples, analyser)))
    }

    /// Utterance `id` ended at stream index `endSample` (its samples appended): the bands
    /// from its lead to there, the stream's sample 0 at media time `origin`. Nil for an
    /// utterance not begun, or not fed to its end.
    mutating func finish(utterance id: Int, endSample: Int, origin: Double) -> ActiveSpeaker.SpeechBands? {
        guard let index = open.firstIndex(where: { $0.id == id }) else { return nil }
        return open.remove(at: index).partial.bands(through: endSample, analyser: analyser, sampleRate: sampleRate, origin: origin)
    }

    /// `utterance` (id `id`) ended: as `finish(utterance:endSample:origin:)`, but from the
    /// utterance's own audio when it began further back than the stream's recent seconds
    /// reach (a segmenter that reports an utterance only when it ends, not as it begins).
    mutating func finish(utterance id: Int, _ utterance: Utterance, origin: Double) -> ActiveSpeaker.SpeechBands? {
        if let fed = open.first(where: { $0.id == id }), fed.partial.first <= utterance.startSample {
            return finish(utterance: id, endSample: utterance.endSample, origin: origin)
        }
        open.removeAll { $0.id == id }
        return ActiveSpeaker.SpeechBands(samples: utterance.audio[...], sampleRate: sampleRate,
                                         start: origin + Double(utterance.startSample) / Double(sampleRate))
    }

    /// One utterance's frames so far.
    private struct Partial {
        /// Stream index of the first sample.
        let first: Int
        /// Samples not yet in a whole frame, from stream index `pendingStart`.
        var pending: [Float] = []
        var pendingStart: Int
        var rows: [[Double]] = []

        init(first: Int, samples: ArraySlice<Float>, _ analyser: BandEnergies) {
            self.first = first
            pendingStart = first
            append(samples, analyser)
        }

        mutating func append(_ samples: some Collection<Float>, _ analyser: BandEnergies) {
            pending.append(contentsOf: samples)
            guard pending.count >= analyser.window else { return }
            let made = analyser.levels(pending[...])
            rows += made
            let consumed = made.count * analyser.hop
            pending.removeFirst(consumed)
            pendingStart += consumed
        }

        func bands(through end: Int, analyser: BandEnergies, sampleRate: Int, origin: Double) -> ActiveSpeaker.SpeechBands? {
            let count = end - first
            let frames = count < analyser.window ? 0 : (count - analyser.window) / analyser.hop + 1
            guard pendingStart + pending.count >= end, frames <= rows.count else { return nil }
            let rate = Double(sampleRate)
            return ActiveSpeaker.SpeechBands(start: origin + Double(first) / rate, hop: Double(analyser.hop) / rate,
                                             centre: Double(analyser.window) / 2 / rate, rows: Array(rows.prefix(frames)))
        }
    }
}
