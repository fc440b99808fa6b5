import StreamEngine

/// Draws what the face pipeline found onto a copy of the frame: the detector's box in green,
/// the 68 landmarks as red dots, MTCNN's five keypoints in blue.
enum FaceOverlay {
    static func draw(_ face: FaceObservation, on image: RGBImage) -> RGBImage {
        var pixels = image.pixels
        func plot(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
            let i = (y * image.width + x) * 3
            (pixels[i], pixels[i + 1], pixels[i + 2]) = colour
        }
        let d = face.detection
        let (x1, y1, x2, y2) = (Int(d.x1.rounded()), Int(d.y1.rounded()), Int(d.x2.rounded()), Int(d.y2.rounded()))
        for x in x1...max(x1, x2) { plot(x, y1, (0, 220, 0)); plot(x, y2, (0, 220, 0)) }
        for y in y1...max(y1, y2) { plot(x1, y, (0, 220, 0)); plot(x2, y, (0, 220, 0)) }
        func dot(_ p: Point2D, _ colour: (UInt8, UInt8, UInt8)) {
            let (cx, cy) = (Int(p.x.rounded()), Int(p.y.rounded()))
            for dy in -1...1 { for dx in -1...1 { plot(cx + dx, cy + dy, colour) } }
        }
        face.landmarks.forEach { dot($0, (255, 40, 40)) }
        d.keypoints.forEach { dot($0, (40, 80, 255)) }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }
}
