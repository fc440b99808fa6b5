/// The stream's last few samples (after resampling), addressed by their index from the start
/// of the stream: what the engine keeps to look just before an utterance's first sample,
/// which the segmenter's pre-roll does not reach (`ActiveSpeaker.leadSeconds`).
struct RecentAudio {
    let capacity: Int
    private var samples: [Float] = []
    /// Index in the stream of `samples[0]`.
    private var first = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        samples.reserveCapacity(2 * capacity)
    }

    /// Index in the stream one past the last sample appended.
    var end: Int { first + samples.count }

    mutating func append(_ chunk: [Float]) {
        samples += chunk
        // Trim in bulk, not per chunk: at most `capacity` extra samples are ever held.
        if samples.count > 2 * capacity {
            let drop = samples.count - capacity
            samples.removeFirst(drop)
            first += drop
        }
    }

    /// The samples of [from, to) still held (a shorter tail when `from` is older).
    func slice(from: Int, to: Int) -> ArraySlice<Float> {
        let lower = min(max(from, first), end), upper = min(max(to, lower), end)
        return samples[(lower - first)..<(upper - first)]
    }
}
