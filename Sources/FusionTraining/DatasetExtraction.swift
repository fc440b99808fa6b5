import Dispatch
import Foundation
import Locking
import NeuralKit
import StreamEngine

/// The features of every clip of a dataset, through a `FeatureCache`: clips with an entry are
/// read back, the others computed by `workers` threads side by side (each clip decoded, its
/// faces and its speech run on one thread, one compute thread each, so two clips fill two
/// cores without oversubscribing them) and stored as each finishes. With `augmentation`, each
/// clip also gets corrupted copies (`CLIP#aug1`, …), cached apart.
package struct DatasetExtraction: Sendable {
    /// Corrupted copies of every clip. Copy k of a clip is drawn from `seed`, the clip's content
    /// and k alone — not from the clips before it — so each copy has one cache entry whatever
    /// else the dataset holds or the order clips finish in.
    package struct Augmentation: Sendable {
        package var plan: AugmentationPlan
        package var copies: Int
        package var noise: NoiseLibrary?
        package var seed: UInt64
        /// Where the copies' features are kept: a cache whose fingerprint adds the plan, the
        /// seed and the noise recordings to the clean one's.
        package var cache: FeatureCache

        package init(plan: AugmentationPlan, copies: Int, noise: NoiseLibrary?, seed: UInt64, cache: FeatureCache) {
            self.plan = plan
            self.copies = copies
            self.noise = noise
            self.seed = seed
            self.cache = cache
        }

        /// Copy `copy`'s corruption of the clip whose content digest is `digest`.
        func corruption(digest: String, copy: Int) -> ClipFeatureExtractor.Corruption {
            let content = UInt64(digest.prefix(16), radix: 16) ?? 0
            var random = SplitMix64(seed: seed ^ content ^ (UInt64(copy) &* 0x9E37_79B9_7F4A_7C15))
            return .drawn(from: plan, noise: noise, using: &random)
        }
    }

    /// What has happened so far, after each row (a clip or a copy).
    package struct Progress: Sendable, Equatable {
        package var done: Int
        package var total: Int
        /// Rows computed in this run, and rows read from the cache.
        package var computed: Int
        package var cached: Int
        /// The row that just finished (`CLIP` or `CLIP#aug<k>`).
        package var clip: String
        /// Seconds since the run started.
        package var elapsed: Double

        /// Rows computed per second in this run (cached rows are not work).
        package var clipsPerSecond: Double { elapsed > 0 ? Double(computed) / elapsed : 0 }
        /// Seconds left at the current rate; nil before the first computed clip.
        package var remainingSeconds: Double? { computed > 0 ? Double(total - done) / clipsPerSecond : nil }
    }

    package let extractor: ClipFeatureExtractor
    package let cache: FeatureCache
    package let workers: Int
    package let augmentation: Augmentation?

    package init(extractor: ClipFeatureExtractor, cache: FeatureCache, workers: Int, augmentation: Augmentation? = nil) {
        self.extractor = extractor
        self.cache = cache
        self.workers = max(1, workers)
        self.augmentation = augmentation
    }

    /// Each row's features: every clip in `clips`' order, each followed by its copies. `key`
    /// gives a clip's content digest; `progress` is called after every row (from a worker
    /// thread, one call at a time); `warning` for a cache entry that could not be used.
    package func run(_ clips: [(name: String, path: String)], key: @escaping @Sendable (String) throws -> String,
                     progress: @escaping @Sendable (Progress) -> Void,
                     warning: @escaping @Sendable (String) -> Void = { _ in }) throws(ClipFeatureError)
        -> [(name: ClipName, clip: ClipFeatureExtractor.Clip)]
    {
        let copies = augmentation.map { max(0, $0.copies) } ?? 0
        let items = clips.indices.flatMap { clip in (0...copies).map { (clip: clip, copy: $0) } }
        let start = DispatchTime.now().uptimeNanoseconds
        let state = Locked(State(results: Array(repeating: nil, count: items.count)))
        let extractor = extractor, cache = cache, augmentation = augmentation
        let digests = Locked<[Int: String]>([:])
        let work: @Sendable () -> Void = {
            ComputeThreads.configure(1)
            while true {
                let index: Int? = state.withLock { state in
                    guard state.failure == nil, state.next < items.count else { return nil }
                    defer { state.next += 1 }
                    return state.next
                }
                guard let index else { return }
                let (clipIndex, copy) = items[index]
                let clip = clips[clipIndex]
                let row = ClipName(clip: clip.name, copy: copy == 0 ? nil : copy).description
                let outcome = Result { () throws(ClipFeatureError) -> (ClipFeatureExtractor.Clip, Bool) in
                    var digest: String
                    if let known = digests.withLock({ $0[clipIndex] }) { digest = known } else {
                        do { digest = try key(clip.path) } catch { throw .cache(path: clip.path, reason: "cannot read it to key the cache (\(error))") }
                        digests.withLock { [digest] in $0[clipIndex] = digest }
                    }
                    var (store, corruption) = (cache, ClipFeatureExtractor.Corruption())
                    if copy > 0, let augmentation {
                        (store, corruption) = (augmentation.cache, augmentation.corruption(digest: digest, copy: copy))
                        digest += "-aug\(copy)"
                    }
                    if let stored = store.load(digest, unreadable: { warning("\($0); computing \(row) again") }) { return (stored, true) }
                    let audio = extractor.speech == nil ? [] : try ClipFeatureExtractor.audio(clip.path)
                    var features = try extractor.extract(clip.path, audio: audio, corruption: corruption)
                    features.measuredSNR = nil  // not stored: a computed row and a cached one stay alike
                    try store.store(features, key: digest)
                    return (features, false)
                }
                state.withLock { state in
                    switch outcome {
                    case .success(let (features, fromCache)):
                        state.results[index] = features
                        state.done += 1
                        if fromCache { state.cached += 1 } else { state.computed += 1 }
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        progress(Progress(done: state.done, total: items.count, computed: state.computed, cached: state.cached,
                                          clip: row, elapsed: elapsed))
                    case .failure(let error):
                        if state.failure == nil { state.failure = error }
                    }
                }
            }
        }
        let blasThreads = BLAS.threadCount, openMPThreads = ComputeThreads.openMPThreads, budget = ComputeThreads.budget
        defer {
            // `configure` sets both libraries to one count; they may have differed before.
            ComputeThreads.configure(budget > 0 ? budget : openMPThreads)
            BLAS.threadCount = blasThreads
        }
        let threads = min(workers, max(1, items.count))
        if threads == 1 { work() } else { DispatchQueue.concurrentPerform(iterations: threads) { _ in work() } }
        let final = state.withLock { $0 }
        if let failure = final.failure { throw failure }
        return zip(items, final.results).map { item, features in
            (ClipName(clip: clips[item.clip].name, copy: item.copy == 0 ? nil : item.copy), features!)
        }
    }

    private struct State: Sendable {
        var results: [ClipFeatureExtractor.Clip?]
        var next = 0, done = 0, computed = 0, cached = 0
        var failure: ClipFeatureError?
    }
}
