import Foundation
import NeuralKit
import StreamEngine
import Testing

@Suite("HuBERT front end in chunks")
struct HuBERTStreamingTests {
    /// Chunk patterns: single samples at first, a prime, one frame hop, odd sizes, a whole second.
    static let patterns: [[Int]] = [[1, 1, 1, 7, 319, 320, 321], [13], [160], [400], [1000, 3], [16000]]

    @Test("any chunking gives exactly the frames of the whole signal (layer-norm family)", arguments: ["large", "wav2vec2"])
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
            #expect(stream.projectedFrames.shape == whole.projectedFrames.shape)
            #expect(stream.projectedFrames.maxAbsoluteDifference(whole.projectedFrames) == 0, "pattern \(pattern)")
            #expect(stream.featureFrames.maxAbsoluteDifference(whole.featureFrames) == 0, "pattern \(pattern)")
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
