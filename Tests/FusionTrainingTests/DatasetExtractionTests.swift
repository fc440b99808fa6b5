import Foundation
import Locking
@testable import FusionTraining
import NeuralKit
import StreamEngine
import TestSupport
import Testing

/// Clips extracted side by side through the feature cache, in-process (ThreadSanitizer runs
/// this suite: two workers share the HuBERT model and the cache).
@Suite("Dataset extraction: workers side by side, through the cache")
struct DatasetExtractionTests {
    static let clips = ["03a01Fa", "03a01Nc", "03a01Wa", "03a02Fc", "03a02Nc", "03a02Ta"].map { (name: $0, path: TestPaths.sharedData("emodb/wav/\($0).wav")) }

    /// The clip's "digest" for the cache: its name is enough here (the files differ).
    static let key: @Sendable (String) throws -> String = { path in
        String(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.utf8.map { String($0, radix: 16) }.joined().prefix(32))
    }

    @Test("two workers give what one gives, every row in order; a second run reads them all from the cache")
    func workersAndCache() throws {
        let hubert = try HuBERT(directory: TestPaths.fixture("hubert/large"), highestLayer: 5)
        let extractor = ClipFeatureExtractor(speech: hubert, visual: nil, layers: [2, 5], every: 1)
        let root = NSTemporaryDirectory() + "merd-cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let progress = Locked<[DatasetExtraction.Progress]>([])
        func run(workers: Int, cache folder: String) throws -> [(name: ClipName, clip: ClipFeatureExtractor.Clip)] {
            let cache = try FeatureCache(root: root + "/" + folder, fingerprint: "test layers 2,5")
            return try DatasetExtraction(extractor: extractor, cache: cache, workers: workers)
                .run(Self.clips, key: Self.key, progress: { value in progress.withLock { $0.append(value) } })
        }
        let one = try run(workers: 1, cache: "one")
        let two = try run(workers: 2, cache: "two")
        #expect(one.map(\.name.description) == Self.clips.map(\.name) && two.map(\.name.description) == Self.clips.map(\.name))
        #expect(one.map(\.clip) == two.map(\.clip), "one compute thread per worker: the same values bit for bit")
        #expect(two.allSatisfy { $0.clip.features[.speechLayer(5)]?.count == 32 })
        progress.withLock { $0.removeAll() }
        let again = try run(workers: 2, cache: "two")
        #expect(again.map(\.clip) == two.map(\.clip))
        let last = progress.withLock { $0.max { $0.done < $1.done } }
        #expect(last?.done == 6 && last?.cached == 6 && last?.computed == 0)
    }
}
