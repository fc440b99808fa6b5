/// A dense layer, `y = x Wᵀ + b`, with PyTorch's weight layout.
///
/// Checkpoint keys: `<prefix>.weight` [out, in], `<prefix>.bias` [out].
public struct Linear: Sendable {
    /// The weight transposed once at creation, [inputFeatures, outputFeatures], so that the
    /// GEMM reads it untransposed (OpenBLAS packs that operand ~5 % faster). Only this layout
    /// is kept: a model's weights are stored once.
    let weightInputMajor: Tensor
    /// [outputFeatures], or nil for a layer without bias.
    public let bias: Tensor?

    /// - Parameter weight: [outputFeatures, inputFeatures], as `torch.nn.Linear` stores it.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "linear bias \(bias.shape) for weight \(weight.shape)") }
        self.weightInputMajor = weight.transposed().contiguous()
        self.bias = bias?.contiguous()
    }

    /// A layer whose weight is already input-major, [inputFeatures, outputFeatures] (as a
    /// loader reads it with `SafeTensorsFile.readMatrix(…, transposed: true)`).
    public init(inputMajorWeight: Tensor, bias: Tensor?) {
        precondition(inputMajorWeight.rank == 2, "input-major weight must be [in, out], got \(inputMajorWeight.shape)")
        if let bias { precondition(bias.shape == [inputMajorWeight.shape[1]], "linear bias \(bias.shape) for [in, out] \(inputMajorWeight.shape)") }
        self.weightInputMajor = inputMajorWeight.contiguous()
        self.bias = bias?.contiguous()
    }

    /// [outputFeatures, inputFeatures], as `torch.nn.Linear` stores it (a copy).
    public var weight: Tensor { weightInputMajor.transposed().contiguous() }

    public var inputFeatures: Int { weightInputMajor.shape[0] }
    public var outputFeatures: Int { weightInputMajor.shape[1] }

    /// Applies the layer to the last dimension of `x` ([..., in] → [..., out]).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape.last == inputFeatures,
                     "linear layer takes [..., \(inputFeatures)], got \(x.shape)")
        let rows = x.count / inputFeatures
        var outputShape = x.shape
        outputShape[outputShape.count - 1] = outputFeatures
        return Tensor(shape: outputShape) { y in
            x.withUnsafeBufferPointer { input in
                apply(rows: rows, input: input.baseAddress!, output: y.baseAddress!)
            }
        }
    }

    /// `output[rows × out] = input[rows × in] · Wᵀ + b` on raw row-major buffers, for callers
    /// that keep their own preallocated activations. With `accumulate`, the product is added
    /// to what `output` holds (a residual connection for free).
    public func apply(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false) {
        let out = outputFeatures
        // Seeding C with the bias (or adding it to the residual) and running sgemm with
        // beta = 1 adds the bias without another pass over the output.
        if let bias {
            bias.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    let line = output + row * out
                    if accumulate {
                        for i in 0..<out { line[i] += b[i] }
                    } else {
                        line.update(from: b.baseAddress!, count: out)
                    }
                }
            }
        }
        weightInputMajor.withUnsafeBufferPointer { w in
            BLAS.gemm(
                m: rows, n: out, k: inputFeatures,
                a: input, lda: inputFeatures,
                b: w.baseAddress!, ldb: out,
                beta: (bias == nil && !accumulate) ? 0 : 1,
                c: output, ldc: out)
        }
    }
}
