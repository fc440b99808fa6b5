import NeuralKit
import Testing

struct PoolingCase: Sendable, CustomTestStringConvertible {
    let h: Int, w: Int
    let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    let ceilMode: Bool
    var testDescription: String { "\(h)x\(w) k\(kernel) s\(stride) p\(padding)\(ceilMode ? " ceil" : "")" }
}

@Suite("Max and average pooling with PyTorch's rules")
struct PoolingTests {
    static let cases: [PoolingCase] = [
        .init(h: 1, w: 1, kernel: (1, 1), stride: (1, 1), padding: (0, 0), ceilMode: false),
        .init(h: 8, w: 8, kernel: (2, 2), stride: (2, 2), padding: (0, 0), ceilMode: false),
        .init(h: 9, w: 11, kernel: (3, 3), stride: (2, 2), padding: (0, 0), ceilMode: true),  // MTCNN P-Net
        .init(h: 7, w: 7, kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: false),  // ResNet stem
        .init(h: 10, w: 13, kernel: (3, 2), stride: (3, 5), padding: (1, 1), ceilMode: true),  // stride > kernel
        .init(h: 5, w: 6, kernel: (2, 4), stride: (1, 3), padding: (1, 2), ceilMode: true),
    ]

    @Test("max and average", arguments: cases)
    func pooling(_ test: PoolingCase) {
        var random = SeededRandom(seed: UInt64(test.h * 31 + test.w))
        let x = random.tensor([2, 3, test.h, test.w])
        let window = PoolingWindow(kernel: test.kernel, stride: test.stride, padding: test.padding, ceilMode: test.ceilMode)
        let planes = x.doubles.chunked(test.h * test.w)
        func reference(_ reduce: @escaping ([Double], Int) -> Double) -> (values: [Double], oh: Int, ow: Int) {
            var all: [Double] = []
            var size = (0, 0)
            for plane in planes {
                let r = Reference.pool2d(plane, h: test.h, w: test.w, kernel: test.kernel, stride: test.stride,
                                         padding: test.padding, ceilMode: test.ceilMode, reduce: reduce)
                all += r.values
                size = (r.oh, r.ow)
            }
            return (all, size.0, size.1)
        }
        let max = reference { values, _ in values.max()! }
        expectClose(x.maxPool2d(window), max.values, shape: [2, 3, max.oh, max.ow], .exact, "max")
        let meanPadded = reference { values, padded in values.reduce(0, +) / Double(padded) }
        expectClose(x.avgPool2d(window), meanPadded.values, shape: [2, 3, meanPadded.oh, meanPadded.ow], .elementwise, "avg")
        let meanInside = reference { values, _ in values.reduce(0, +) / Double(values.count) }
        expectClose(x.avgPool2d(window, countIncludePad: false), meanInside.values, shape: [2, 3, meanInside.oh, meanInside.ow],
                    .elementwise, "avg without pad")
    }

    /// Keras `MaxPooling2D(padding="same")` as TensorFlow defines it: out = ⌈in / s⌉,
    /// total padding max((out − 1)·s + k − in, 0), the smaller half before; padded cells
    /// never count. MTCNN uses (2, 2)/2 and (3, 3)/2 on odd and even sizes; mini-Xception (3, 3)/2.
    @Test("TensorFlow \"same\" windows", arguments: [(9, 11, 3, 2), (10, 10, 3, 2), (7, 5, 2, 2), (1, 1, 3, 2), (6, 13, 2, 3)])
    func tensorFlowSame(_ h: Int, _ w: Int, _ k: Int, _ s: Int) {
        var random = SeededRandom(seed: UInt64(h * 100 + w))
        let x = random.tensor([2, 3, h, w])
        let window = PoolingWindow.tensorFlowSame(kernel: (k, k), stride: (s, s))
        let (oh, ow) = ((h + s - 1) / s, (w + s - 1) / s)
        let padTop = max((oh - 1) * s + k - h, 0) / 2, padLeft = max((ow - 1) * s + k - w, 0) / 2
        var maxima: [Double] = [], means: [Double] = []
        for plane in x.doubles.chunked(h * w) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var cells: [Double] = []
                    for i in 0..<k {
                        for j in 0..<k {
                            let (y, x) = (oy * s - padTop + i, ox * s - padLeft + j)
                            if y >= 0 && y < h && x >= 0 && x < w { cells.append(plane[y * w + x]) }
                        }
                    }
                    maxima.append(cells.max()!)
                    means.append(cells.reduce(0, +) / Double(cells.count))
                }
            }
        }
        expectClose(x.maxPool2d(window), maxima, shape: [2, 3, oh, ow], .exact, "max")
        expectClose(x.avgPool2d(window), means, shape: [2, 3, oh, ow], .elementwise, "avg")
    }

    @Test("global average pool")
    func globalAverage() {
        var random = SeededRandom(seed: 8)
        let x = random.tensor([2, 3, 7, 7])
        let expected = x.doubles.chunked(49).map { $0.reduce(0, +) / 49 }
        expectClose(x.globalAvgPool2d(), expected, shape: [2, 3], .elementwise)
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
