import CaptureFile
import Foundation
@testable import FusionTraining
@testable import StreamEngine
import TestSupport
import Testing

@Suite("Noise augmentation (MER-NOISE)")
struct AugmentationTests {
    @Test("speech noise lands at the requested SNR on the speech part, within 0.2 dB, on real speech with real speech as noise",
          arguments: [5.0, 8.0, 11.0, 20.0])
    func snr(target: Double) throws {
        let speech = try SegmentationMaterial.decode16k(TestPaths.sharedData("grid/id2_vcd_swwp2s.mpg"))
        // A shorter recording of another speaker, so the noise loops under the clip.
        let noise = try SegmentationMaterial.decode16k(TestPaths.sharedData("emodb/wav/03a01Fa.wav"))
        #expect(noise.count < speech.count)
        let ranges = NoiseMixer.speechRanges(speech)
        // The segmenter finds the aligned speech (0.49–2.21 s), not the whole clip.
        #expect(ranges.count == 1 && abs(Double(ranges[0].lowerBound) / 16000 - 0.49) < 0.1)
        for offset in [0, 12345] {
            let (mixed, added) = NoiseMixer.mix(speech: speech, noise: noise, snr: target, ranges: ranges, offset: offset)
            let residual = zip(mixed, speech).map { $0 - $1 }
            #expect(zip(residual, added).allSatisfy { abs($0 - $1) < 1e-6 })
            let measured = NoiseMixer.measuredSNR(speech: speech, noise: residual, ranges: ranges)
            #expect(abs(measured - target) < 0.2, "asked \(target) dB, got \(measured) dB (offset \(offset))")
            // Measured over the whole clip instead, the silences would make it look quieter.
            #expect(NoiseMixer.measuredSNR(speech: speech, noise: residual, ranges: [0..<speech.count]) < target - 1)
        }
    }

    static func image(_ width: Int = 40, _ height: Int = 30) -> RGBImage {
        var random = SeededGenerator(seed: 9)
        return RGBImage(width: width, height: height, pixels: (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    @Test("solarize inverts exactly the values at or above the threshold")
    func solarize() {
        let original = Self.image()
        let out = ImageCorruption.solarize(threshold: 128).apply(to: original)
        #expect(zip(original.pixels, out.pixels).allSatisfy { $0 >= 128 ? $1 == 255 - $0 : $1 == $0 })
    }

    @Test("blur keeps the mean and a flat image, lowers the variance, spreads an impulse as a Gaussian of σ")
    func blur() {
        let original = Self.image()
        let out = ImageCorruption.blur(sigma: 2).apply(to: original)
        func stats(_ v: [UInt8]) -> (Double, Double) {
            let m = v.map(Double.init).reduce(0, +) / Double(v.count)
            return (m, v.map { (Double($0) - m) * (Double($0) - m) }.reduce(0, +) / Double(v.count))
        }
        let (m0, v0) = stats(original.pixels), (m1, v1) = stats(out.pixels)
        #expect(abs(m0 - m1) < 1.5 && v1 < v0 / 4, "mean \(m0)→\(m1), variance \(v0)→\(v1)")
        let flat = RGBImage(width: 9, height: 9, pixels: [UInt8](repeating: 77, count: 243))
        #expect(ImageCorruption.blur(sigma: 1.5).apply(to: flat).pixels == flat.pixels)
        var impulse = [UInt8](repeating: 0, count: 41 * 41 * 3)
        impulse[(20 * 41 + 20) * 3] = 255
        let spread = ImageCorruption.blur(sigma: 2).apply(to: RGBImage(width: 41, height: 41, pixels: impulse)).pixels
        // Column through the centre: values ∝ exp(−d²/2σ²); at d = 2 (one σ) the ratio is e^(−1/2).
        let centre = Double(spread[(20 * 41 + 20) * 3]), oneSigma = Double(spread[(22 * 41 + 20) * 3])
        #expect(abs(oneSigma / centre - exp(-0.5)) < 0.1, "\(oneSigma) / \(centre)")
    }

    @Test("rotation by 0 is the identity; by 180° it reverses the pixel order; corners turned out are black")
    func rotate() {
        let original = Self.image(31, 21)
        #expect(ImageCorruption.rotate(degrees: 0).apply(to: original).pixels == original.pixels)
        let half = ImageCorruption.rotate(degrees: 180).apply(to: original)
        let reversed = (0..<(31 * 21)).reversed().flatMap { i in original.pixels[(3 * i)..<(3 * i + 3)] }
        #expect(zip(half.pixels, reversed).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
        let turned = ImageCorruption.rotate(degrees: 30).apply(to: original)
        #expect(turned.pixels[0..<3] == [0, 0, 0])
    }

    @Test("cutout blacks exactly a square of a quarter of the shorter side, at the drawn place")
    func cutout() {
        let original = RGBImage(width: 40, height: 32, pixels: [UInt8](repeating: 200, count: 40 * 32 * 3))
        let out = ImageCorruption.cutout(fraction: 0.25, x: 1, y: 0).apply(to: original)
        let black = (0..<(40 * 32)).filter { out.pixels[3 * $0] == 0 }
        #expect(black.count == 64)
        #expect(black.allSatisfy { $0 % 40 >= 32 && $0 / 40 < 8 })
    }

    @Test("the --augment text: the paper's recipe parses, mistakes are named")
    func plan() throws {
        let plan = try AugmentationPlan(parsing: "audio-snr=5:11,image=solarize,blur,rotate,cutout")
        #expect(plan.snrRange == 5...11 && plan.imageCorruptions == ImageCorruption.names)
        var random = SeededGenerator(seed: 4)
        for _ in 0..<50 {
            let (snr, image) = plan.draw(using: &random)
            #expect(snr.map { (5...11).contains(Int($0)) && $0 == $0.rounded() } == true && image != nil)
        }
        #expect(throws: AugmentationError.invalid(part: "sharpen", expected: "an image corruption among solarize, blur, rotate, cutout")) {
            try AugmentationPlan(parsing: "image=blur,sharpen")
        }
        #expect(throws: AugmentationError.self) { try AugmentationPlan(parsing: "audio-snr=11:5") }
        #expect(throws: AugmentationError.self) { try AugmentationPlan(parsing: "snr=5") }
    }

    @Test("a clip and its copies fall in one fold")
    func folds() {
        let names = ["a", "a#aug1", "b", "c", "a#aug2", "b#aug1"]
        #expect(FusionTrainer.foldGroups(names) == [[0, 1, 4], [2, 5], [3]])
        #expect(FusionTrainer.foldGroups(["x", "y", "z"]) == [[0], [1], [2]])
    }
}
