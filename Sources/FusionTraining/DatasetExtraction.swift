import Dispatch
import Foundation
import Locking
import NeuralKit
import StreamEngine

/// The features of every clip of a dataset, through a `FeatureCache`: clips with an entry are
/// read back, the others computed by `workers` threads side by side (each clip decoded, its
/// faces and its speech run on one thread, one compute thread each, so two clips fill two
/// cores without oversubscribing them) and stored as each finishes.
package struct DatasetExtraction: Sendable {
    /// What has happened so far, after each clip.
    package struct Progress: Sendable, Equatable {
        package var done: Int
        package var total: Int
        /// Clips computed in this run, and clips read from the cache.
        package var computed: Int
        package var cached: Int
        /// The clip that just finished.
        package var clip: String
        /// Seconds since the run started.
        package var elapsed: Double

        /// Clips computed per second in this run (cached clips are not work).
        package var clipsPerSecond: Double { elapsed > 0 ? Double(computed) / elapsed : 0 }
        /// Seconds left at the current rate; nil before the first computed clip.
        package var remainingSeconds: Double? { computed > 0 ? Double(total - done) / clipsPerSecond : nil }
    }

    package let extractor: ClipFeatureExtractor
    package let cache: FeatureCache
    package let workers: Int

    package init(extractor: ClipFeatureExtractor, cache: FeatureCache, workers: Int) {
        self.extractor = extractor
        self.cache = cache
        self.workers = max(1, workers)
    }

    /// Each clip's features, in `clips`' order. `key` gives a clip's content digest;
    /// `progress` is called after every clip (from a worker thread, one call at a time);
    /// `warning` for a cache entry that could not be used.
    package func run(_ clips: [(name: String, path: String)], key: @escaping @Sendable (String) throws -> String,
                     progress: @escaping @Sendable (Progress) -> Void,
                     warning: @escaping @Sendable (String) -> Void = { _ in }) throws(ClipFeatureError) -> [ClipFeatureExtractor.Clip] {
        let start = DispatchTime.now().uptimeNanoseconds
        let state = Locked(State(results: Array(repeating: nil, count: clips.count)))
        let extractor = extractor, cache = cache
        let work: @Sendable () -> Void = {
            ComputeThreads.configure(1)
            while true {
                let index: Int? = state.withLock { state in
                    guard state.failure == nil, state.next < clips.count else { return nil }
                    defer { state.next += 1 }
                    return state.next
                }
                guard let index else { return }
                let clip = clips[index]
                let outcome = Result { () throws(ClipFeatureError) -> (ClipFeatureExtractor.Clip, Bool) in
                    let digest: String
                    do { digest = try key(clip.path) } catch { throw .cache(path: clip.path, reason: "cannot read it to key the cache (\(error))") }
                    if let stored = cache.load(digest, unreadable: { warning("\($0); computing \(clip.name) again") }) { return (stored, true) }
                    let audio = extractor.speech == nil ? [] : try ClipFeatureExtractor.audio(clip.path)
                    let features = try extractor.extract(clip.path, audio: audio)
                    try cache.store(features, key: digest)
                    return (features, false)
                }
                state.withLock { state in
                    switch outcome {
                    case .success(let (features, fromCache)):
                        state.results[index] = features
                        state.done += 1
                        if fromCache { state.cached += 1 } else { state.computed += 1 }
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        progress(Progress(done: state.done, total: clips.count, computed: state.computed, cached: state.cached,
                                          clip: clip.name, elapsed: elapsed))
                    case .failure(let error):
                        if state.failure == nil { state.failure = error }
                    }
                }
            }
        }
        let blasThreads = BLAS.threadCount, openMPThreads = ComputeThreads.openMPThreads
        defer {
            BLAS.threadCount = blasThreads
            ComputeThreads.configure(openMPThreads)
            BLAS.threadCount = blasThreads
        }
        let threads = min(workers, max(1, clips.count))
        if threads == 1 { work() } else { DispatchQueue.concurrentPerform(iterations: threads) { _ in work() } }
        let final = state.withLock { $0 }
        if let failure = final.failure { throw failure }
        return final.results.map { $0! }
    }

    private struct State: Sendable {
        var results: [ClipFeatureExtractor.Clip?]
        var next = 0, done = 0, computed = 0, cached = 0
        var failure: ClipFeatureError?
    }
}
