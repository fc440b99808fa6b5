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

    private var frontEnd: HuBERTFrontEndStream
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
        guard model.preprocessing.normalize else {
            frontEnd.push(samples)
            try runCompleteWindows()
            return
        }
        guard let statistics else {
            heldBack += samples
            if heldBack.count >= windowing.normalizationSamples { try releaseHeldBack() }
            return
        }
        frontEnd.push(statistics.normalize(samples))
        try runCompleteWindows()
    }

    /// Ends the utterance and returns each layer's mean over all frames, [D] each.
    public mutating func finish() throws(HuBERTError) -> [Int: Tensor] {
        try finish(abandonIf: { false })!
    }

    /// The same, for an end that may not come (work started before it is sure): the last
    /// window asks `abandonIf` before each layer and nil is returned once it says yes. The
    /// encoder is then spent.
    public mutating func finish(abandonIf: () -> Bool) throws(HuBERTError) -> [Int: Tensor]? {
        if model.preprocessing.normalize && statistics == nil { try releaseHeldBack() }
        frontEnd.finish()
        // The group-norm family has its frames only now: run its windows here.
        try runCompleteWindows()
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

    private mutating func releaseHeldBack() throws(HuBERTError) {
        let measured = InputStatistics(heldBack)
        statistics = measured
        let samples = heldBack
        heldBack = []
        frontEnd.push(measured.normalize(samples))
        try runCompleteWindows()
    }

    private mutating func runCompleteWindows() throws(HuBERTError) {
        while nextWindowStart + windowing.windowFrames <= frontEnd.frameCount {
            let start = nextWindowStart, end = start + windowing.windowFrames
            // Credit up to the middle of the overlap with the next window; the rest waits.
            let creditEnd = end - windowing.overlapFrames / 2
            try credit(windowStart: start, windowEnd: end, from: creditedFrames, to: creditEnd)
            nextWindowStart += windowing.hopFrames
        }
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
