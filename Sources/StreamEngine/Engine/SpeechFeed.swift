/// The audio side of the engine as a value: the segmenter, the stream's recent samples, and
/// what to hand the speech encoder when. It is fed 16 kHz samples and answers with `Step`s;
/// it never runs a model itself, so the speech/speculation logic can be driven sample by
/// sample in a test, and the engine only carries the steps out.
///
/// The rules it keeps:
/// - samples go to the utterance's encoder as soon as the segmenter knows they are speech
///   (`speechEnd`), not a hangover later;
/// - once a pause has lasted `speculateAfterPauseMilliseconds`, the encoder is asked for the
///   features as they would be if the utterance ended where the pause began (`speculate`),
///   a hangover before the segmenter confirms it; speech that resumes withdraws the request
///   (`pendingSpeechEnd` becomes nil);
/// - at the confirmed end, the rest of the speech (up to `Utterance.speechEndSample`, not the
///   silent tail) finishes the utterance.
public struct SpeechFeed {
    /// What the engine must do, in order.
    public enum Step: Sendable, Equatable {
        /// Speech began at `startSample`: open utterance `utterance`'s encoder.
        case begin(utterance: Int, startSample: Int)
        /// Samples surely inside utterance `utterance`, in stream order after the last push.
        case push(utterance: Int, samples: [Float])
        /// A pause began: compute the features as if `rest` were the utterance's last samples
        /// and its speech ended at sample `end`.
        case speculate(utterance: Int, rest: [Float], end: Int)
        /// The utterance ended (confirmed): finish its encoder with `rest`.
        case finish(utterance: Int, Utterance, rest: [Float])
    }

    public private(set) var segmenter: any UtteranceSegmenting
    /// A pause this long asks for a speculation; nil never speculates.
    public let speculateAfterPauseMilliseconds: Int?
    /// Where the open utterance's speech ends if the pause under way lasts, once a
    /// speculation was asked for it; nil while speech goes on. Between utterances it keeps its
    /// last value: a speculation for the end that came is still worth finishing.
    public private(set) var pendingSpeechEnd: Int?

    public var sampleRate: Int { segmenter.sampleRate }

    /// The stream's recent samples, from `historyStart`: speech is reported after its onset,
    /// so an utterance's first samples are taken from here.
    private var history: [Float] = []
    private var historyStart = 0
    /// Samples fed so far.
    private var total = 0
    /// The open utterance and how far its samples have been pushed.
    private var open: (id: Int, pushed: Int)?
    private var nextUtterance = 0
    /// The end a speculation was asked for in the open utterance.
    private var speculatedEnd: Int?
    /// Samples kept behind the newest, whatever is open.
    private let keepSamples: Int

    public init(segmenter: any UtteranceSegmenting, speculateAfterPauseMilliseconds: Int?) {
        self.segmenter = segmenter
        self.speculateAfterPauseMilliseconds = speculateAfterPauseMilliseconds
        keepSamples = 2 * segmenter.sampleRate
    }

    /// The steps the next samples call for.
    public mutating func process(_ samples: [Float]) -> [SpeechFeed.Step] {
        history += samples
        total += samples.count
        var steps = handle(segmenter.process(samples))
        pushSpoken(into: &steps)
        speculate(into: &steps)
        trimHistory()
        return steps
    }

    /// The mouths in view, for the segmenter's visual gate; observations are on the
    /// segmenter's sample clock.
    public mutating func observeLips(_ observations: [LipObservation]) {
        guard !observations.isEmpty else { return }
        segmenter.observeLips(observations)
    }

    /// Ends the stream: an utterance still open is finished.
    public mutating func finish() -> [SpeechFeed.Step] {
        handle(segmenter.finish())
    }

    /// Whether an utterance is being spoken (begun, not yet finished).
    public var utteranceOpen: Bool { open != nil }

    private mutating func handle(_ events: [SegmenterEvent]) -> [SpeechFeed.Step] {
        var steps: [SpeechFeed.Step] = []
        for event in events {
            switch event {
            case .speechStarted(let sample):
                let id = takeIdentifier()
                // History reaches back 2 s, past any pre-roll; were it shorter, the utterance's
                // audio would be pushed whole at its end instead.
                open = (id, sample < historyStart ? sample : max(sample, historyStart))
                steps.append(.begin(utterance: id, startSample: sample))
            case .utterance(let utterance):
                let speechCount = utterance.speechEndSample - utterance.startSample
                let id: Int
                let from: Int
                if let open {
                    id = open.id
                    from = max(0, min(open.pushed - utterance.startSample, speechCount))
                } else {
                    id = takeIdentifier()
                    steps.append(.begin(utterance: id, startSample: utterance.startSample))
                    from = 0
                }
                steps.append(.finish(utterance: id, utterance, rest: Array(utterance.audio[from..<speechCount])))
                open = nil
                speculatedEnd = nil
            }
        }
        return steps
    }

    private mutating func takeIdentifier() -> Int {
        defer { nextUtterance += 1 }
        return nextUtterance
    }

    /// Samples before the last speech frame's end are in the utterance wherever it ends.
    private mutating func pushSpoken(into steps: inout [SpeechFeed.Step]) {
        guard let current = open, let end = segmenter.speechEnd.map({ min($0, total) }) else { return }
        guard end > current.pushed, current.pushed >= historyStart else { return }
        steps.append(.push(utterance: current.id, samples: Array(history[(current.pushed - historyStart)..<(end - historyStart)])))
        open?.pushed = end
    }

    private mutating func speculate(into steps: inout [SpeechFeed.Step]) {
        guard let current = open else { return }
        guard let after = speculateAfterPauseMilliseconds, let end = segmenter.pendingSpeechEnd,
              segmenter.pauseMilliseconds >= after else {
            pendingSpeechEnd = nil
            return
        }
        pendingSpeechEnd = end
        guard end != speculatedEnd, current.pushed >= historyStart, end >= current.pushed,
              end - historyStart <= history.count else { return }
        speculatedEnd = end
        steps.append(.speculate(utterance: current.id, rest: Array(history[(current.pushed - historyStart)..<(end - historyStart)]), end: end))
    }

    /// Drops history no one can need: older than `keepSamples`, and not yet pushed. Trims
    /// in steps of a second so that the array is not shifted on every chunk.
    private mutating func trimHistory() {
        let drop = min(total - keepSamples, open?.pushed ?? Int.max) - historyStart
        if drop > segmenter.sampleRate {
            history.removeFirst(drop)
            historyStart += drop
        }
    }
}
