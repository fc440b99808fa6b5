import NeuralKit

/// When and over what the transformer runs while an utterance is being spoken.
public struct HuBERTWindowing: Sendable, Equatable {
    /// Frames the transformer sees at once.
    public var windowFrames: Int
    /// Frames shared by consecutive windows; each frame's pooled contribution comes from the
    /// window in which it is farthest from an edge (half the overlap on each side).
    public var overlapFrames: Int
    /// Samples whose statistics fix the input normalisation of models that normalise
    /// (`do_normalize`); the front end waits for them. 0 when the model does not normalise.
    public var normalizationSamples: Int

    /// The live default: a short window, because the last one is what a listener waits for
    /// after the end of speech (HuBERT-large, 20 layers, 2 cores: about 0.2 s for a second's
    /// frames; docs/operations.md has the measured trade-off). Longer windows give each frame
    /// more context, nearer the whole-utterance features the fusion model was trained on.
    /// 48 and 12 frames: whole row blocks of OpenBLAS's kernels (`BLAS.efficientRows`), so a
    /// window is 15 % quicker than one of 50.
    public static let defaultWindowSeconds = 0.96
    public static let defaultOverlapSeconds = 0.24

    /// Units in seconds, as configured; frames are 20 ms, samples 1/16000 s.
    public init(windowSeconds: Double = defaultWindowSeconds, overlapSeconds: Double = defaultOverlapSeconds,
                normalizationSeconds: Double = 1) {
        precondition(windowSeconds > 0 && overlapSeconds >= 0 && overlapSeconds < windowSeconds, "bad windowing")
        windowFrames = Int((windowSeconds * 50).rounded())
        overlapFrames = Int((overlapSeconds * 50).rounded())
        normalizationSamples = Int((normalizationSeconds * 16000).rounded())
    }

    public var hopFrames: Int { windowFrames - overlapFrames }
}

/// Mean-pooled hidden states of one utterance, computed while it is spoken: the front end
/// runs on each chunk as it arrives, and the transformer over overlapping windows as soon
/// as each window is complete, so at the end of speech only the last, partial window
/// remains (at most one window, at least the overlap).
///
/// An utterance no longer than one window gives exactly the whole-utterance features (one
/// transformer run at the end). A longer one differs from them only in how far attention
/// reaches: each frame sees its window, not the whole utterance. For models that normalise
/// their input, the statistics come from the first `normalizationSamples` (exact when the
/// utterance is no longer).
public struct HuBERTUtteranceEncoder: Sendable {
    public let model: HuBERT
    public let layers: [Int]
    public let windowing: HuBERTWindowing

    private(set) var frontEnd: HuBERTFrontEndStream
    /// Set once the normalisation statistics are known (models that normalise only).
    private var statistics: InputStatistics?
    private var heldBack: [Float] = []
    /// Sum over credited frames of each layer's hidden states.
    private var sums: [Int: [Float]]
    /// Frames whose contribution is in `sums`.
    private var creditedFrames = 0
    /// Start frame of the next window to run.
    private var nextWindowStart = 0
    /// Transformer runs so far (for reports and tests).
    public private(set) var windowsRun = 0

    public init(model: HuBERT, layers: [Int], windowing: HuBERTWindowing = HuBERTWindowing()) throws(HuBERTError) {
        for layer in layers where !(0...model.highestLoadedLayer).contains(layer) {
            throw .layerOutOfRange(layer: layer, layers: model.highestLoadedLayer)
        }
        self.model = model
        self.layers = layers
        self.windowing = windowing
        frontEnd = model.makeFrontEndStream()
        sums = Dictionary(uniqueKeysWithValues: layers.map { ($0, [Float](repeating: 0, count: model.configuration.hiddenSize)) })
    }

    /// Feeds the next 16 kHz samples; runs every window that is now complete.
    public mutating func push(_ samples: [Float]) throws(HuBERTError) {
        _ = try push(samples, abandonIf: { false })
    }

    /// The same, for work that may turn out unwanted (a speculation on a copy): every window
    /// run asks `abandonIf` before each layer, and false is returned once it says yes. The
    /// encoder is then spent.
    public mutating func push(_ samples: [Float], abandonIf: () -> Bool) throws(HuBERTError) -> Bool {
        guard model.preprocessing.normalize else {
            frontEnd.push(samples)
            return try runCompleteWindows(abandonIf: abandonIf)
        }
        guard let statistics else {
            heldBack += samples
            if heldBack.count >= windowing.normalizationSamples { return try releaseHeldBack(abandonIf: abandonIf) }
            return true
        }
        frontEnd.push(statistics.normalize(samples))
        return try runCompleteWindows(abandonIf: abandonIf)
    }

    /// Ends the utterance and returns each layer's mean over all frames, [D] each.
    public mutating func finish() throws(HuBERTError) -> [Int: Tensor] {
        try finish(abandonIf: { false })!
    }

    /// The same, for an end that may not come (work started before it is sure): every window
    /// left to run asks `abandonIf` before each layer, and the front end's remaining work
    /// before it starts; nil is returned once it says yes. The encoder is then spent.
    public mutating func finish(abandonIf: () -> Bool) throws(HuBERTError) -> [Int: Tensor]? {
        if model.preprocessing.normalize && statistics == nil {
            guard try releaseHeldBack(abandonIf: abandonIf) else { return nil }
        }
        guard !abandonIf() else { return nil }
        frontEnd.finish()
        // The group-norm family has its frames only now: run its windows here.
        guard try runCompleteWindows(abandonIf: abandonIf) else { return nil }
        let total = frontEnd.frameCount
        guard total > 0 else { throw .audioTooShort(samples: heldBack.count, needed: model.configuration.receptiveField) }
        if creditedFrames < total {
            // The last window is the next periodic one, cut short at the last frame: its
            // frames get the same left context as in any window, and the work left at the end
            // of speech is less than one window (it is what the listener waits for).
            guard try credit(windowStart: nextWindowStart, windowEnd: total, from: creditedFrames, to: total, abandonIf: abandonIf) else {
                return nil
            }
        }
        return sums.mapValues { sum in
            Tensor(shape: [sum.count], scalars: sum.map { $0 / Float(total) })
        }
    }

    /// Normalises the held-back samples by their own statistics and runs the front end and the
    /// windows on them; false when abandoned (the front end's pass over up to a second of
    /// audio is not cut, but is not started once unwanted).
    private mutating func releaseHeldBack(abandonIf: () -> Bool = { false }) throws(HuBERTError) -> Bool {
        guard !abandonIf() else { return false }
        let measured = InputStatistics(heldBack)
        statistics = measured
        let samples = heldBack
        heldBack = []
        frontEnd.push(measured.normalize(samples))
        return try runCompleteWindows(abandonIf: abandonIf)
    }

    /// Runs every window the frames now complete; false when abandoned on the way.
    private mutating func runCompleteWindows(abandonIf: () -> Bool = { false }) throws(HuBERTError) -> Bool {
        while nextWindowStart + windowing.windowFrames <= frontEnd.frameCount {
            let start = nextWindowStart, end = start + windowing.windowFrames
            // Credit up to the middle of the overlap with the next window; the rest waits.
            let creditEnd = end - windowing.overlapFrames / 2
            guard try credit(windowStart: start, windowEnd: end, from: creditedFrames, to: creditEnd, abandonIf: abandonIf) else { return false }
            nextWindowStart += windowing.hopFrames
        }
        return true
    }

    /// Runs the transformer over frames [windowStart, windowEnd) and adds frames [from, to)
    /// of the result to the sums; false when abandoned on the way.
    @discardableResult
    private mutating func credit(windowStart: Int, windowEnd: Int, from: Int, to: Int,
                                 abandonIf: () -> Bool = { false }) throws(HuBERTError) -> Bool {
        let width = model.configuration.hiddenSize
        let frames = frontEnd.projectedFrames.rows(windowStart..<windowEnd)
        guard let states = try model.hiddenStates(frames: frames, layers: layers, abandonIf: abandonIf) else { return false }
        windowsRun += 1
        for layer in layers {
            states[layer]!.withUnsafeBufferPointer { h in
                sums[layer]!.withUnsafeMutableBufferPointer { sum in
                    for t in (from - windowStart)..<(to - windowStart) {
                        for d in 0..<width { sum[d] += h[t * width + d] }
                    }
                }
            }
        }
        creditedFrames = to
        return true
    }
}
