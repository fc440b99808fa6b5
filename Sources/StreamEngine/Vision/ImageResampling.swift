/// The resampling the face models were trained and converted with, each following the
/// reference implementation's arithmetic so that merd feeds the nets what they expect.
enum ImageResampling {
    /// TensorFlow's `ResizeArea` (`tf.image.resize(method=AREA)`, no antialias option, no
    /// corner alignment), which mtcnn 1.0.0 builds its image pyramid with: each output cell
    /// is the mean of the input cells its footprint covers, partial cells weighted by the
    /// covered fraction. Scale factors and weights in float, as TensorFlow computes them
    /// (resize_area_op.cc), so the pyramid matches it to float rounding.
    static func areaResize(_ image: FloatImage, width outWidth: Int, height outHeight: Int) -> FloatImage {
        precondition(outWidth > 0 && outHeight > 0, "area resize to \(outWidth)x\(outHeight)")
        let heightScale = Float(image.height) / Float(outHeight)
        let widthScale = Float(image.width) / Float(outWidth)
        let scale = 1 / (heightScale * widthScale)
        let channels = image.channels

        /// The covered fraction of input cell `cell` by the footprint [start, end).
        func coverage(_ cell: Int, _ start: Float, _ end: Float, _ step: Float) -> Float {
            let lower = Float(cell), upper = Float(cell + 1)
            if lower < start { return upper > end ? step : upper - start }
            return upper > end ? end - lower : 1
        }
        struct Footprint { var first: Int; var last: Int; var firstWeight: Float; var lastWeight: Float }
        let columns: [Footprint] = (0..<outWidth).map { x in
            let start = Float(x) * widthScale, end = Float(x + 1) * widthScale
            let first = Int(start.rounded(.down)), last = Int(end.rounded(.up)) - 1
            return Footprint(first: first, last: last, firstWeight: coverage(first, start, end, widthScale),
                             lastWeight: coverage(last, start, end, widthScale))
        }
        var output = [Float](repeating: 0, count: outWidth * outHeight * channels)
        var rowWeights: [Float] = []
        var rowIndices: [Int] = []
        var sums = [Float](repeating: 0, count: channels)
        image.values.withUnsafeBufferPointer { input in
            for y in 0..<outHeight {
                let start = Float(y) * heightScale, end = Float(y + 1) * heightScale
                rowWeights.removeAll(keepingCapacity: true)
                rowIndices.removeAll(keepingCapacity: true)
                for i in Int(start.rounded(.down))..<Int(end.rounded(.up)) {
                    rowWeights.append(coverage(i, start, end, heightScale))
                    rowIndices.append(min(max(i, 0), image.height - 1))
                }
                for x in 0..<outWidth {
                    let footprint = columns[x]
                    func column(_ i: Int) -> Int { min(max(i, 0), image.width - 1) * channels }
                    for c in 0..<channels { sums[c] = 0 }
                    for (r, row) in rowIndices.enumerated() {
                        let base = row * image.width * channels
                        for c in 0..<channels {
                            var rowSum = input[base + column(footprint.first) + c] * footprint.firstWeight
                            if footprint.first != footprint.last {
                                if footprint.first + 1 < footprint.last {
                                    for i in (footprint.first + 1)..<footprint.last { rowSum += input[base + column(i) + c] }
                                }
                                rowSum += input[base + column(footprint.last) + c] * footprint.lastWeight
                            }
                            sums[c] += rowSum * rowWeights[r]
                        }
                    }
                    for c in 0..<channels { output[(y * outWidth + x) * channels + c] = sums[c] * scale }
                }
            }
        }
        return FloatImage(width: outWidth, height: outHeight, channels: channels, values: output)
    }

    /// TensorFlow's `crop_and_resize` (bilinear, extrapolation value 0) of one box given in
    /// normalised coordinates (y1, x1, y2, x2): sample (i, j) of the crop reads the image at
    /// y1·(H−1) + i·(y2−y1)·(H−1)/(h−1); samples outside the image are 0. mtcnn 1.0.0 cuts
    /// the R-Net and O-Net inputs with it.
    static func cropAndResize(_ image: FloatImage, box: (y1: Float, x1: Float, y2: Float, x2: Float),
                              width cropWidth: Int, height cropHeight: Int) -> FloatImage {
        image.values.withUnsafeBufferPointer { values in
            cropAndResize(width: image.width, height: image.height, channels: image.channels, box: box,
                          cropWidth: cropWidth, cropHeight: cropHeight) { values[$0] }
        }
    }

    /// The same, reading an 8-bit RGB image through `transform` (MTCNN's normalisation), so a
    /// crop reads only the pixels it needs instead of a converted copy of the whole frame.
    static func cropAndResize(_ image: RGBImage, box: (y1: Float, x1: Float, y2: Float, x2: Float),
                              width cropWidth: Int, height cropHeight: Int, transform: (Float) -> Float) -> FloatImage {
        image.pixels.withUnsafeBufferPointer { pixels in
            cropAndResize(width: image.width, height: image.height, channels: 3, box: box,
                          cropWidth: cropWidth, cropHeight: cropHeight) { transform(Float(pixels[$0])) }
        }
    }

    /// `crop_and_resize` over any image whose value at flat HWC index i is `value(i)`.
    private static func cropAndResize(width: Int, height: Int, channels: Int, box: (y1: Float, x1: Float, y2: Float, x2: Float),
                                      cropWidth: Int, cropHeight: Int, value: (Int) -> Float) -> FloatImage {
        let lastRow = Float(height - 1), lastColumn = Float(width - 1)
        let heightScale = cropHeight > 1 ? (box.y2 - box.y1) * lastRow / Float(cropHeight - 1) : 0
        let widthScale = cropWidth > 1 ? (box.x2 - box.x1) * lastColumn / Float(cropWidth - 1) : 0
        var output = [Float](repeating: 0, count: cropWidth * cropHeight * channels)
        for i in 0..<cropHeight {
            let inY = cropHeight > 1 ? box.y1 * lastRow + Float(i) * heightScale : 0.5 * (box.y1 + box.y2) * lastRow
            guard inY >= 0, inY <= lastRow else { continue }
            let top = Int(inY.rounded(.down)), bottom = Int(inY.rounded(.up))
            let yLerp = inY - Float(top)
            for j in 0..<cropWidth {
                let inX = cropWidth > 1 ? box.x1 * lastColumn + Float(j) * widthScale : 0.5 * (box.x1 + box.x2) * lastColumn
                guard inX >= 0, inX <= lastColumn else { continue }
                let left = Int(inX.rounded(.down)), right = Int(inX.rounded(.up))
                let xLerp = inX - Float(left)
                for c in 0..<channels {
                    let topLeft = value((top * width + left) * channels + c)
                    let topRight = value((top * width + right) * channels + c)
                    let bottomLeft = value((bottom * width + left) * channels + c)
                    let bottomRight = value((bottom * width + right) * channels + c)
                    let upper = topLeft + (topRight - topLeft) * xLerp
                    let lower = bottomLeft + (bottomRight - bottomLeft) * xLerp
                    output[(i * cropWidth + j) * channels + c] = upper + (lower - upper) * yLerp
                }
            }
        }
        return FloatImage(width: cropWidth, height: cropHeight, channels: channels, values: output)
    }

    /// Samples the image at `transform(u, v)` for every output pixel (u, v), bilinearly, with
    /// the edge pixels repeated outside the image (a face at the frame's border keeps skin-like
    /// context rather than black, which FER nets never saw in training).
    static func warp(_ image: RGBImage, _ transform: SimilarityTransform, width: Int, height: Int) -> FloatImage {
        var output = [Float](repeating: 0, count: width * height * 3)
        let maxX = Float(image.width - 1), maxY = Float(image.height - 1)
        image.pixels.withUnsafeBufferPointer { p in
            for v in 0..<height {
                for u in 0..<width {
                    let (sx, sy) = transform.apply(Double(u), Double(v))
                    let x = min(max(Float(sx), 0), maxX), y = min(max(Float(sy), 0), maxY)
                    let x0 = Int(x), y0 = Int(y)
                    let x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                    let fx = x - Float(x0), fy = y - Float(y0)
                    for c in 0..<3 {
                        let a = Float(p[(y0 * image.width + x0) * 3 + c]), b = Float(p[(y0 * image.width + x1) * 3 + c])
                        let d = Float(p[(y1 * image.width + x0) * 3 + c]), e = Float(p[(y1 * image.width + x1) * 3 + c])
                        let upper = a + (b - a) * fx, lower = d + (e - d) * fx
                        output[(v * width + u) * 3 + c] = upper + (lower - upper) * fy
                    }
                }
            }
        }
        return FloatImage(width: width, height: height, channels: 3, values: output)
    }

    /// Pillow's bilinear `Image.resize` of the `width` × `height` rectangle at (`left`, `top`)
    /// of an 8-bit RGB image, to `outWidth` × `outHeight`, 8-bit (torchvision's `Resize` on a
    /// PIL image, as EmotiEffLib preprocesses faces). Its arithmetic (Pillow `src/libImaging/
    /// Resample.c`): per axis a triangle filter whose support widens with the scale when
    /// shrinking (antialiasing), weights normalised in double and rounded to 22-bit fixed
    /// point; the horizontal pass first, rounded and clipped to 8 bits, over just the rows the
    /// vertical pass reads; an axis whose size does not change is not resampled.
    static func pillowBilinear(_ image: RGBImage, left: Int, top: Int, width: Int, height: Int,
                               outWidth: Int, outHeight: Int) -> [UInt8] {
        precondition(left >= 0 && top >= 0 && width > 0 && height > 0 && left + width <= image.width && top + height <= image.height,
                     "rectangle (\(left), \(top)) \(width)x\(height) outside a \(image.width)x\(image.height) image")
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)x\(outHeight)")
        let precisionBits = 22
        /// Per output position: the first input index, the count, and the fixed-point weights.
        struct Taps { var first: Int; var weights: [Int] }
        func taps(input: Int, output: Int) -> [Taps] {
            let scale = Double(input) / Double(output)
            let filterScale = max(scale, 1)
            let support = 1.0 * filterScale
            return (0..<output).map { xx in
                let center = (Double(xx) + 0.5) * scale
                let first = max(Int(center - support + 0.5), 0)
                let last = min(Int(center + support + 0.5), input)
                var weights = (first..<max(last, first)).map { x -> Double in
                    let t = abs((Double(x) - center + 0.5) / filterScale)
                    return t < 1 ? 1 - t : 0
                }
                let total = weights.reduce(0, +)
                if total != 0 { weights = weights.map { $0 / total } }
                let scaled = Double(1 << precisionBits)
                return Taps(first: first, weights: weights.map { $0 < 0 ? Int(-0.5 + $0 * scaled) : Int(0.5 + $0 * scaled) })
            }
        }
        func clip8(_ value: Int) -> UInt8 {
            if value >= (1 << precisionBits) << 8 { return 255 }
            if value <= 0 { return 0 }
            return UInt8(value >> precisionBits)
        }
        let rounding = 1 << (precisionBits - 1)
        // The rectangle as its own image, 3 bytes a pixel.
        var columns = width
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                let source = ((top + y) * image.width + left) * 3
                for i in 0..<(width * 3) { pixels[y * width * 3 + i] = p[source + i] }
            }
        }
        var vertical = taps(input: height, output: outHeight)
        if outWidth != width {
            let horizontal = taps(input: width, output: outWidth)
            // Only the rows the vertical pass reads.
            let firstRow = outHeight != height ? vertical[0].first : 0
            let lastRow = outHeight != height ? vertical[outHeight - 1].first + vertical[outHeight - 1].weights.count : height
            var resized = [UInt8](repeating: 0, count: outWidth * (lastRow - firstRow) * 3)
            for y in firstRow..<lastRow {
                for xx in 0..<outWidth {
                    let tap = horizontal[xx]
                    for c in 0..<3 {
                        var sum = rounding
                        for (x, weight) in tap.weights.enumerated() { sum += Int(pixels[(y * width + tap.first + x) * 3 + c]) * weight }
                        resized[((y - firstRow) * outWidth + xx) * 3 + c] = clip8(sum)
                    }
                }
            }
            if outHeight != height { for i in vertical.indices { vertical[i].first -= firstRow } }
            pixels = resized
            columns = outWidth
        }
        guard outHeight != height else { return pixels }
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        for yy in 0..<outHeight {
            let tap = vertical[yy]
            for x in 0..<columns {
                for c in 0..<3 {
                    var sum = rounding
                    for (y, weight) in tap.weights.enumerated() { sum += Int(pixels[((tap.first + y) * columns + x) * 3 + c]) * weight }
                    output[(yy * columns + x) * 3 + c] = clip8(sum)
                }
            }
        }
        return output
    }
}
