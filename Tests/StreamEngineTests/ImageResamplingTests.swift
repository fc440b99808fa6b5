import NeuralKit
@testable import StreamEngine
import Testing

@Suite("Resampling as TensorFlow does it (mtcnn's pyramid and crops)")
struct ImageResamplingTests {
    static func normalizedFrame() -> FloatImage { MTCNN.normalize(VisionFixtures.frame(0)) }

    @Test("area resize equals tf.image.resize(method=AREA) at two pyramid scales", arguments: [1, 4])
    func area(level: Int) throws {
        let expected = try VisionFixtures.reference.tensor("area.\(level).output")
        let (h, w) = (expected.shape[0], expected.shape[1])
        let scale = try VisionFixtures.reference.tensor("area.\(level).scale").scalars[0]
        // mtcnn truncates the scaled size; the fixture's shape is what TensorFlow made of it.
        #expect(Int(288 * Double(scale)) == h && Int(360 * Double(scale)) == w)
        let resized = ImageResampling.areaResize(Self.normalizedFrame(), width: w, height: h)
        expectClose(Tensor(shape: [h, w, 3], scalars: resized.values), expected, relativeToScale: VisionTolerance.resampling, "area \(level)")
    }

    @Test("crop_and_resize equals TensorFlow's, boxes outside the frame included", arguments: [24, 48])
    func crop(side: Int) throws {
        let boxes = try VisionFixtures.reference.tensor("crop.boxes").scalars
        let expected = try VisionFixtures.reference.tensor("crop.\(side)")
        var values: [Float] = []
        for b in 0..<(boxes.count / 4) {
            let box = (boxes[4 * b], boxes[4 * b + 1], boxes[4 * b + 2], boxes[4 * b + 3])
            values += ImageResampling.cropAndResize(Self.normalizedFrame(), box: box, width: side, height: side).values
        }
        expectClose(Tensor(shape: expected.shape, scalars: values), expected, relativeToScale: VisionTolerance.resampling, "crop \(side)")
    }

    @Test("an identity warp reproduces the image; a half-pixel shift averages neighbours")
    func warp() {
        let image = RGBImage(width: 3, height: 2, pixels: [0, 0, 0, 30, 60, 90, 60, 120, 180, 90, 180, 255, 120, 240, 0, 150, 0, 30])
        #expect(ImageResampling.warp(image, .identity, width: 3, height: 2).values == image.pixels.map(Float.init))
        let shifted = ImageResampling.warp(image, SimilarityTransform(a: 1, b: 0, tx: 0.5, ty: 0), width: 2, height: 1).values
        #expect(shifted == [15, 30, 45, 45, 90, 135])
    }
}
