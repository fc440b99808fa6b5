import Foundation

/// Plain-loop float64 references for every kernel: no BLAS, no im2col, no tricks, written
/// straight from the definitions (PyTorch's documentation of each module), so a bug in a
/// kernel's indexing cannot be shared by its reference.
enum Reference {
    /// C[m×n] = A[m×k] · B[k×n] (or Bᵀ when B is n×k).
    static func matmul(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeB: Bool = false) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += a[i * k + p] * (transposeB ? b[j * k + p] : b[p * n + j]) }
                c[i * n + j] = sum
            }
        }
        return c
    }

    /// y = x Wᵀ + b for rows of x.
    /// The cosine of the angle between two vectors (1 for parallel ones).
    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { dot += x * y; aa += x * x; bb += y * y }
        return dot / (aa.squareRoot() * bb.squareRoot())
    }

    static func linear(_ x: [Double], weight: [Double], bias: [Double]?, rows: Int, inputs: Int, outputs: Int) -> [Double] {
        var y = matmul(x, weight, m: rows, n: outputs, k: inputs, transposeB: true)
        if let bias { for r in 0..<rows { for o in 0..<outputs { y[r * outputs + o] += bias[o] } } }
        return y
    }

    /// torch.nn.functional.conv2d on [N, C, H, W] with explicit per-side padding.
    static func conv2d(
        _ x: [Double], n: Int, c: Int, h: Int, w: Int,
        weight: [Double], outChannels: Int, kh: Int, kw: Int, bias: [Double]?,
        stride: (Int, Int), pad: (top: Int, bottom: Int, left: Int, right: Int), dilation: (Int, Int), groups: Int
    ) -> (values: [Double], oh: Int, ow: Int) {
        let oh = (h + pad.top + pad.bottom - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (w + pad.left + pad.right - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        let cg = c / groups, og = outChannels / groups
        var y = [Double](repeating: 0, count: n * outChannels * oh * ow)
        for b in 0..<n {
            for o in 0..<outChannels {
                let g = o / og
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = bias?[o] ?? 0
                        for ci in 0..<cg {
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let iy = oy * stride.0 - pad.top + i * dilation.0
                                    let ix = ox * stride.1 - pad.left + j * dilation.1
                                    if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                    let input = x[((b * c + g * cg + ci) * h + iy) * w + ix]
                                    sum += input * weight[((o * cg + ci) * kh + i) * kw + j]
                                }
                            }
                        }
                        y[((b * outChannels + o) * oh + oy) * ow + ox] = sum
                    }
                }
            }
        }
        return (y, oh, ow)
    }

    /// Normalises each of `groups` runs of `size` values, then applies `affine(indexInRun, value)`.
    static func normalize(_ x: [Double], runs: Int, size: Int, epsilon: Double, affine: (Int, Int, Double) -> Double) -> [Double] {
        var y = x
        for r in 0..<runs {
            let slice = x[(r * size)..<((r + 1) * size)]
            let mean = slice.reduce(0, +) / Double(size)
            let variance = slice.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(size)
            for i in 0..<size { y[r * size + i] = affine(r, i, (x[r * size + i] - mean) / (variance + epsilon).squareRoot()) }
        }
        return y
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    static func softmax(_ x: [Double], width: Int) -> [Double] {
        var y = x
        for r in 0..<(x.count / width) {
            let row = x[(r * width)..<((r + 1) * width)]
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for i in 0..<width { y[r * width + i] = e[i] / s }
        }
        return y
    }

    /// PyTorch's 2-D pooling over one [H, W] plane; `reduce` gets the in-bounds values and the
    /// window size clipped to the padded input.
    static func pool2d(
        _ plane: [Double], h: Int, w: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), ceilMode: Bool,
        reduce: ([Double], Int) -> Double
    ) -> (values: [Double], oh: Int, ow: Int) {
        func extent(_ size: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
            let numerator = Double(size + 2 * p - k) / Double(s)
            var out = Int(ceilMode ? numerator.rounded(.up) : numerator.rounded(.down)) + 1
            if ceilMode && (out - 1) * s >= size + p { out -= 1 }
            return out
        }
        let oh = extent(h, kernel.0, stride.0, padding.0), ow = extent(w, kernel.1, stride.1, padding.1)
        var y: [Double] = []
        for oy in 0..<oh {
            for ox in 0..<ow {
                let y0 = oy * stride.0 - padding.0, x0 = ox * stride.1 - padding.1
                let y1 = min(y0 + kernel.0, h + padding.0), x1 = min(x0 + kernel.1, w + padding.1)
                var values: [Double] = []
                for yy in y0..<y1 where yy >= 0 && yy < h {
                    for xx in x0..<x1 where xx >= 0 && xx < w { values.append(plane[yy * w + xx]) }
                }
                y.append(reduce(values, (y1 - y0) * (x1 - x0)))
            }
        }
        return (y, oh, ow)
    }

    /// HuggingFace's BERT/HuBERT self-attention for one sequence [T, D] (no mask).
    static func attention(
        _ x: [Double], length t: Int, width d: Int, heads: Int,
        q: ([Double], [Double]), k: ([Double], [Double]), v: ([Double], [Double]), o: ([Double], [Double])
    ) -> [Double] {
        let qs = linear(x, weight: q.0, bias: q.1, rows: t, inputs: d, outputs: d)
        let ks = linear(x, weight: k.0, bias: k.1, rows: t, inputs: d, outputs: d)
        let vs = linear(x, weight: v.0, bias: v.1, rows: t, inputs: d, outputs: d)
        let hd = d / heads
        var context = [Double](repeating: 0, count: t * d)
        for h in 0..<heads {
            for i in 0..<t {
                var scores = [Double](repeating: 0, count: t)
                for j in 0..<t {
                    var s = 0.0
                    for e in 0..<hd { s += qs[i * d + h * hd + e] * ks[j * d + h * hd + e] }
                    scores[j] = s / Double(hd).squareRoot()
                }
                let p = softmax(scores, width: t)
                for e in 0..<hd {
                    var s = 0.0
                    for j in 0..<t { s += p[j] * vs[j * d + h * hd + e] }
                    context[i * d + h * hd + e] = s
                }
            }
        }
        return linear(context, weight: o.0, bias: o.1, rows: t, inputs: d, outputs: d)
    }
}
