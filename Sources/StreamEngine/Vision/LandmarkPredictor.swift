/// A face rectangle as dlib's shape predictor takes it: inclusive integer corners, as
/// `dlib::rectangle(left, top, right, bottom)`.
public struct FaceRectangle: Sendable, Equatable, Codable {
    public var left: Int
    public var top: Int
    public var right: Int
    public var bottom: Int

    public init(left: Int, top: Int, right: Int, bottom: Int) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
    }

    public var width: Int { right - left + 1 }
    public var height: Int { bottom - top + 1 }
}

/// An ensemble of regression trees that places facial landmarks inside a face rectangle
/// (Kazemi & Sullivan 2014), read from dlib's `shape_predictor` files such as
/// `shape_predictor_68_face_landmarks.dat` and run with dlib's arithmetic
/// (dlib/image_processing/shape_predictor.h), so that it gives dlib's landmarks.
///
/// File layout (dlib serialisation, version 1): `int` version; `matrix<float,0,1>` initial
/// shape (x0, y0, x1, y1, … in the unit rectangle); `vector<vector<regression_tree>>` forests,
/// a tree being `vector<split_feature{idx1, idx2: unsigned long; thresh: float}>` then
/// `vector<matrix<float,0,1>>` leaf values; `vector<vector<unsigned long>>` anchor indices;
/// `vector<vector<vector<float,2>>>` deltas.
public struct LandmarkPredictor: Sendable {
    /// One split of a tree: go left when pixel[first] − pixel[second] > threshold.
    struct Split: Sendable {
        var first: Int32
        var second: Int32
        var threshold: Float
    }

    /// One cascade stage: the pixels it samples (each an anchor landmark plus an offset in
    /// the initial shape's frame) and its trees, all complete binary trees of one depth.
    struct Cascade: Sendable {
        var anchors: [Int]
        var deltas: [(x: Float, y: Float)]
        /// trees × splitsPerTree.
        var splits: [Split]
        /// trees × leavesPerTree × (2 · parts).
        var leaves: [Float]
        var trees: Int
    }

    /// The mean shape in the unit rectangle, x0, y0, x1, y1, …
    public let initialShape: [Float]
    let cascades: [Cascade]
    let splitsPerTree: Int

    public var parts: Int { initialShape.count / 2 }

    /// The mean shape as points in the unit rectangle: the face template alignment uses.
    public var meanShape: [Point2D] {
        (0..<parts).map { Point2D(x: Double(initialShape[2 * $0]), y: Double(initialShape[2 * $0 + 1])) }
    }

    /// Reads a dlib shape predictor file, checking every index against the sizes it must respect.
    public init(path: String) throws(DlibFormatError) {
        var reader = try DlibReader(path: path)
        try self.init(reader: &reader)
    }

    init(reader: inout DlibReader) throws(DlibFormatError) {
        let file = reader.file
        let version = try reader.signed("the format version")
        guard version == 1 else {
            throw .invalidModel(file: file, reason: "shape predictor format version \(version); dlib and merd read version 1")
        }
        var initial: [Float] = []
        try reader.floatColumn(into: &initial, "the initial shape")
        guard !initial.isEmpty, initial.count % 2 == 0 else {
            throw .invalidModel(file: file, reason: "initial shape of \(initial.count) values is not a list of points")
        }
        let parts = initial.count / 2

        let forestCount = try reader.count("the number of cascades")
        var forests: [(splits: [Split], leaves: [Float], trees: Int)] = []
        var splitsPerTree = -1
        var maxFeature = [Int](repeating: -1, count: forestCount)
        for c in 0..<forestCount {
            let treeCount = try reader.count("the tree count of cascade \(c)")
            var splits: [Split] = []
            var leaves: [Float] = []
            for t in 0..<treeCount {
                let where_ = "tree \(t) of cascade \(c)"
                let splitCount = try reader.count("the split count of \(where_)", minimumElementBytes: 6)
                if splitsPerTree < 0 { splitsPerTree = splitCount }
                guard splitCount == splitsPerTree else {
                    throw .invalidModel(file: file, reason: "\(where_) has \(splitCount) splits, the others \(splitsPerTree); merd runs trees of one depth")
                }
                for _ in 0..<splitCount {
                    let first = try reader.unsigned("a split of \(where_)")
                    let second = try reader.unsigned("a split of \(where_)")
                    let threshold = try reader.float("a split threshold of \(where_)")
                    guard first < UInt64(Int32.max), second < UInt64(Int32.max) else {
                        throw .invalidModel(file: file, reason: "\(where_) reads pixel \(max(first, second)), beyond any feature list")
                    }
                    maxFeature[c] = max(maxFeature[c], Int(first), Int(second))
                    splits.append(Split(first: Int32(first), second: Int32(second), threshold: threshold))
                }
                let leafCount = try reader.count("the leaf count of \(where_)")
                guard leafCount == splitCount + 1 else {
                    throw .invalidModel(file: file, reason: "\(where_) has \(leafCount) leaves for \(splitCount) splits (a complete tree has one more)")
                }
                for l in 0..<leafCount {
                    let length = try reader.floatColumn(into: &leaves, "leaf \(l) of \(where_)")
                    guard length == 2 * parts else {
                        throw .invalidModel(file: file, reason: "leaf \(l) of \(where_) moves \(length / 2) points; the shape has \(parts)")
                    }
                }
            }
            forests.append((splits, leaves, treeCount))
        }

        let anchorCascades = try reader.count("the anchor lists")
        var anchors: [[Int]] = []
        for c in 0..<anchorCascades {
            let n = try reader.count("the anchors of cascade \(c)")
            var list: [Int] = []
            list.reserveCapacity(n)
            for _ in 0..<n {
                let anchor = try reader.unsigned("an anchor of cascade \(c)")
                guard anchor < UInt64(parts) else {
                    throw .invalidModel(file: file, reason: "cascade \(c) anchors a pixel to point \(anchor); the shape has \(parts)")
                }
                list.append(Int(anchor))
            }
            anchors.append(list)
        }
        let deltaCascades = try reader.count("the delta lists")
        var deltas: [[(x: Float, y: Float)]] = []
        for c in 0..<deltaCascades {
            let n = try reader.count("the deltas of cascade \(c)")
            var list: [(x: Float, y: Float)] = []
            list.reserveCapacity(n)
            for _ in 0..<n {
                let x = try reader.float("a delta of cascade \(c)")
                let y = try reader.float("a delta of cascade \(c)")
                list.append((x, y))
            }
            deltas.append(list)
        }
        guard reader.isAtEnd else {
            throw .invalidModel(file: file, reason: "\(reader.offset) bytes make a whole model but the file goes on (another kind of dlib file?)")
        }
        guard anchorCascades == forestCount, deltaCascades == forestCount else {
            throw .invalidModel(file: file, reason: "\(forestCount) cascades but \(anchorCascades) anchor and \(deltaCascades) delta lists")
        }
        var cascades: [Cascade] = []
        for c in 0..<forestCount {
            guard anchors[c].count == deltas[c].count, maxFeature[c] < anchors[c].count else {
                throw .invalidModel(file: file, reason: "cascade \(c): \(anchors[c].count) anchors, \(deltas[c].count) deltas, splits read pixel \(maxFeature[c])")
            }
            cascades.append(Cascade(anchors: anchors[c], deltas: deltas[c], splits: forests[c].splits,
                                    leaves: forests[c].leaves, trees: forests[c].trees))
        }
        self.initialShape = initial
        self.cascades = cascades
        self.splitsPerTree = max(splitsPerTree, 0)
    }

    /// The landmarks of the face in `rectangle` of a grey image (row-major, `width` × `height`),
    /// in image coordinates, before dlib's rounding to whole pixels.
    public func predict(intensity: [UInt8], width: Int, height: Int, rectangle: FaceRectangle) -> [Point2D] {
        precondition(intensity.count == width * height, "intensity of \(intensity.count) bytes for \(width)x\(height)")
        return intensity.withUnsafeBufferPointer { grey in
            predict(width: width, height: height, rectangle: rectangle) { grey[$0] }
        }
    }

    /// The landmarks in an RGB frame, each sampled pixel's intensity taken as dlib takes it from
    /// an RGB image, (R + G + B) / 3 truncated: the ~7500 pixels the cascade reads, not a grey
    /// copy of the whole frame.
    public func predict(image: RGBImage, rectangle: FaceRectangle) -> [Point2D] {
        image.pixels.withUnsafeBufferPointer { p in
            predict(width: image.width, height: image.height, rectangle: rectangle) { i in
                UInt8((UInt32(p[3 * i]) + UInt32(p[3 * i + 1]) + UInt32(p[3 * i + 2])) / 3)
            }
        }
    }

    /// dlib's cascade over an image whose intensity at flat index i is `intensity(i)`.
    private func predict(width: Int, height: Int, rectangle: FaceRectangle, intensity: (Int) -> UInt8) -> [Point2D] {
        var shape = initialShape
        // (0, 0) ↦ top-left, (1, 1) ↦ bottom-right corner: dlib's unnormalizing_tform, in double.
        let (left, top) = (Double(rectangle.left), Double(rectangle.top))
        let (spanX, spanY) = (Double(rectangle.right - rectangle.left), Double(rectangle.bottom - rectangle.top))
        let reference = (0..<parts).map { (x: Double(initialShape[2 * $0]), y: Double(initialShape[2 * $0 + 1])) }
        var features: [Float] = []
        let stride = 2 * parts
        let leaves = splitsPerTree + 1
        do {
            for cascade in cascades {
                let current = (0..<parts).map { (x: Double(shape[2 * $0]), y: Double(shape[2 * $0 + 1])) }
                let fit = SimilarityTransform.fit(from: reference, to: current)
                let (m00, m01, m10, m11) = (Float(fit.a), Float(-fit.b), Float(fit.b), Float(fit.a))
                features.removeAll(keepingCapacity: true)
                for (anchor, delta) in zip(cascade.anchors, cascade.deltas) {
                    let u = (m00 * delta.x + m01 * delta.y) + shape[2 * anchor]
                    let v = (m10 * delta.x + m11 * delta.y) + shape[2 * anchor + 1]
                    let x = Int((left + spanX * Double(u) + 0.5).rounded(.down))
                    let y = Int((top + spanY * Double(v) + 0.5).rounded(.down))
                    features.append(x >= 0 && x < width && y >= 0 && y < height ? Float(intensity(y * width + x)) : 0)
                }
                cascade.splits.withUnsafeBufferPointer { splits in
                    cascade.leaves.withUnsafeBufferPointer { values in
                        shape.withUnsafeMutableBufferPointer { s in
                            for tree in 0..<cascade.trees {
                                let nodes = splits.baseAddress! + tree * splitsPerTree
                                var node = 0
                                while node < splitsPerTree {
                                    let split = nodes[node]
                                    node = features[Int(split.first)] - features[Int(split.second)] > split.threshold ? 2 * node + 1 : 2 * node + 2
                                }
                                let leaf = values.baseAddress! + (tree * leaves + node - splitsPerTree) * stride
                                for i in 0..<stride { s[i] += leaf[i] }
                            }
                        }
                    }
                }
            }
        }
        return (0..<parts).map { Point2D(x: left + spanX * Double(shape[2 * $0]), y: top + spanY * Double(shape[2 * $0 + 1])) }
    }
}
