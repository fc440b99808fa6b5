import Foundation
import NeuralKit
import StreamEngine
import Testing

@Suite("HuBERT front end in chunks")
struct HuBERTStreamingTests {
    /// Chunk patterns: single samples at first, a prime, one frame hop, odd sizes, a whole second.
    static let patterns: [[Int]] = [[1, 1, 1, 7, 319, 320, 321], [13], [160], [400], [1000, 3], [16000]]

    /// |stream − whole| ≤ 1e-6 · (largest |whole|): the same arithmetic, rounded differently.
    /// OpenBLAS's sgemm sums a row's products in an order that depends on the matrix height (a
    /// 1-row call and a 50-row call differ in the last bits, on its Prescott and Haswell kernels
    /// alike), and a stream calls it with as many rows as a chunk completes. 1e-6 is a few float32
    /// ulps of the largest value; a frame misaligned by one sample would be off by ~1e-1.
    static func expectSameFrames(_ stream: Tensor, _ whole: Tensor, _ label: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(stream.shape == whole.shape, "\(label): shape", sourceLocation: sourceLocation)
        let scale = whole.scalars.map(abs).max() ?? 0
        let error = stream.maxAbsoluteDifference(whole)
        #expect(error <= 1e-6 * scale, "\(label): max abs error \(error), scale \(scale)", sourceLocation: sourceLocation)
    }

    @Test("any chunking gives the frames of the whole signal (layer-norm family)", arguments: ["large", "wav2vec2"])
    func exactInChunks(family: String) throws {
        let model = try HuBERT(directory: HuBERTFixtures.path(family))
        let reference = try HuBERTFixtures.reference(family)
        let input = model.inputValues(try reference.tensor("audio").scalars)
        var whole = model.makeFrontEndStream()
        whole.push(input)
        whole.finish()
        for pattern in Self.patterns {
            var stream = model.makeFrontEndStream()
            var start = 0, step = 0
            var framesSeen: [Int] = []
            while start < input.count {
                let size = min(pattern[step % pattern.count], input.count - start)
                stream.push(Array(input[start..<(start + size)]))
                framesSeen.append(stream.frameCount)
                start += size
                step += 1
            }
            // Frames arrive as soon as their samples have: never later than a hop (320) behind.
            #expect(framesSeen.last == whole.frameCount, "pattern \(pattern)")
            stream.finish()
            Self.expectSameFrames(stream.projectedFrames, whole.projectedFrames, "projected, pattern \(pattern)")
            Self.expectSameFrames(stream.featureFrames, whole.featureFrames, "features, pattern \(pattern)")
        }
    }

    @Test("layers holding back for a minimum of rows give the frames of the whole signal, that many at a time",
          arguments: ["large", "wav2vec2"], [2, 20, 1000])
    func heldBackRows(family: String, minimumRows: Int) throws {
        let model = try HuBERT(directory: HuBERTFixtures.path(family))
        let input = model.inputValues(try HuBERTFixtures.reference(family).tensor("audio").scalars)
        var whole = model.makeFrontEndStream()
        whole.push(input)
        whole.finish()
        for pattern in [[160], [400], [1000, 3], [4000]] {
            var stream = model.makeFrontEndStream(minimumProductRows: minimumRows)
            var start = 0, step = 0, frames = 0
            while start < input.count {
                let size = min(pattern[step % pattern.count], input.count - start)
                stream.push(Array(input[start..<(start + size)]))
                // The last layer's product makes every new frame: none in smaller steps.
                let added = stream.frameCount - frames
                #expect(added == 0 || added >= minimumRows, "pattern \(pattern): \(added) frames at once")
                frames = stream.frameCount
                start += size
                step += 1
            }
            if minimumRows > whole.frameCount {
                #expect(frames == 0, "pattern \(pattern): fewer frames in all than the minimum wait for the end")
            }
            stream.finish()
            Self.expectSameFrames(stream.projectedFrames, whole.projectedFrames, "projected, pattern \(pattern), ≥ \(minimumRows) rows")
            Self.expectSameFrames(stream.featureFrames, whole.featureFrames, "features, pattern \(pattern), ≥ \(minimumRows) rows")
        }
    }

    @Test("frames are produced as their samples arrive")
    func latency() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("large"))
        var stream = model.makeFrontEndStream()
        stream.push([Float](repeating: 0.01, count: 399))
        #expect(stream.frameCount == 0)
        stream.push([0.01])
        #expect(stream.frameCount == 1)  // 400 samples: the receptive field of frame 0
        stream.push([Float](repeating: 0.01, count: 320))
        #expect(stream.frameCount == 2)  // one hop later
    }

    @Test("the group-norm family computes at the end, and then matches the whole signal")
    func groupNormAtEnd() throws {
        let model = try HuBERT(directory: HuBERTFixtures.path("base"))
        let input = model.inputValues(try HuBERTFixtures.reference("base").tensor("audio").scalars)
        var stream = model.makeFrontEndStream()
        for start in stride(from: 0, to: input.count, by: 777) { stream.push(Array(input[start..<min(start + 777, input.count)])) }
        #expect(stream.frameCount == 0)  // nothing exact can be said before the utterance ends
        stream.finish()
        var whole = model.makeFrontEndStream()
        whole.push(input)
        whole.finish()
        #expect(stream.frameCount == 49)
        #expect(stream.projectedFrames.maxAbsoluteDifference(whole.projectedFrames) == 0)
    }
}
