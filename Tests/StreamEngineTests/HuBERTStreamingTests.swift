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

    /// The front end over all of `input` at once, finished.
    static func whole(_ model: HuBERT, _ input: [Float]) -> HuBERTFrontEndStream {
        var stream = model.makeFrontEndStream()
        stream.push(input)
        stream.finish()
        return stream
    }

    /// Pushes `input` into `stream` in chunks of `pattern`'s sizes (repeated), and returns the
    /// stream's frame count after each push. Does not finish the stream.
    static func feed(_ stream: inout HuBERTFrontEndStream, _ input: [Float], pattern: [Int]) -> [Int] {
        var start = 0, step = 0
        var framesSeen: [Int] = []
        while start < input.count {
            let size = min(pattern[step % pattern.count], input.count - start)
            stream.push(Array(input[start..<(start + size)]))
            framesSeen.append(stream.frameCount)
            start += size
            step += 1
        }
        return framesSeen
    }

    @Test("any chunking gives the frames of the whole signal (layer-norm family)", arguments: ["large", "wav2vec2"])
    func exactInChunks(family: String) throws {
        let model = try HuBERT(directory: HuBERTFixtures.path(family))
        let reference = try HuBERTFixtures.reference(family)
        let input = model.inputValues(try reference.tensor("audio").scalars)
        let whole = Self.whole(model, input)
        for pattern in Self.patterns {
            var stream = model.makeFrontEndStream()
            let framesSeen = Self.feed(&stream, input, pattern: pattern)
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
        let whole = Self.whole(model, input)
        for pattern in [[160], [400], [1000, 3], [4000]] {
            var stream = model.makeFrontEndStream(minimumProductRows: minimumRows)
            let framesSeen = Self.feed(&stream, input, pattern: pattern)
            // The last layer's product makes every new frame: none in smaller steps.
            for (before, after) in zip([0] + framesSeen, framesSeen) {
                let added = after - before
                #expect(added == 0 || added >= minimumRows, "pattern \(pattern): \(added) frames at once")
            }
            if minimumRows > whole.frameCount {
                #expect(framesSeen.last == 0, "pattern \(pattern): fewer frames in all than the minimum wait for the end")
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
        #expect(Self.feed(&stream, input, pattern: [777]).last == 0)  // nothing exact can be said before the utterance ends
        stream.finish()
        let whole = Self.whole(model, input)
        #expect(stream.frameCount == 49)
        #expect(stream.projectedFrames.maxAbsoluteDifference(whole.projectedFrames) == 0)
    }
}
