import CaptureFile
import MediaTypes
import StreamEngine

/// A video file's pictures as RGB images, for benchmarks that loop or sample them.
package enum BenchmarkVideo {
    /// Every `every`-th frame of `path`, from the first.
    package static func frames(_ path: String, every: Int = 1) throws(CaptureError) -> [RGBImage] {
        precondition(every > 0, "every must be positive")
        let reader = try VideoFileReader(path: path)
        var images: [RGBImage] = []
        var index = 0
        while let frame = try reader.nextFrame() {
            if index % every == 0, let image = RGBImage(frame) { images.append(image) }
            index += 1
        }
        return images
    }

    /// `images` scaled uniformly to `height` rows and cropped, centred, to `width` columns: a
    /// webcam's 640×480 from a clip of another size.
    package static func scaled(_ images: [RGBImage], width: Int = 640, height: Int = 480) -> [RGBImage] {
        images.map { image in
            let scale = Double(image.height) / Double(height)
            let toSource = SimilarityTransform(a: scale, b: 0, tx: (Double(image.width) - Double(width) * scale) / 2, ty: 0)
            return image.resampled(toSource, width: width, height: height)
        }
    }
}
