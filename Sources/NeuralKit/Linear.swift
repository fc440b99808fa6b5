/// A dense layer, `y = x Wᵀ + b`, with PyTorch's weight layout.
///
/// The layer runs on the backend `Compute.current` names when it is created: OpenBLAS's
/// sgemm, or oneDNN's matmul with the weight reordered once into the primitive's layout (F32
/// or BF16). Either way the layer keeps one copy of its weight.
///
/// Checkpoint keys: `<prefix>.weight` [out, in], `<prefix>.bias` [out].
public struct Linear: Sendable {
    /// OpenBLAS's copy of the weight, transposed once at creation, [inputFeatures,
    /// outputFeatures], so that the GEMM reads it untransposed (OpenBLAS packs that operand ~5 %
    /// faster); nil when `matmul` holds the weight.
    let weightInputMajor: Tensor?
    /// The oneDNN product holding the weight in its own layout; nil on OpenBLAS.
    let matmul: OneDNNMatmul?
    /// [outputFeatures], or nil for a layer without bias.
    public let bias: Tensor?
    public let inputFeatures: Int
    public let outputFeatures: Int

    /// - Parameter weight: [outputFeatures, inputFeatures], as `torch.nn.Linear` stores it.
    public init(weight: Tensor, bias: Tensor?, compute: Compute = .current) {
        precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "linear bias \(bias.shape) for weight \(weight.shape)") }
        self.init(checkedInputMajor: weight.transposed().contiguous(), bias: bias, compute: compute)
    }

    /// A layer whose weight is already input-major, [inputFeatures, outputFeatures] (as a
    /// loader reads it with `SafeTensorsFile.readMatrix(…, transposed: true)`). On oneDNN the
    /// weight is reordered into the primitive's layout and this tensor is not kept, so a
    /// loader's transient copy is freed when the loader drops it.
    public init(inputMajorWeight: Tensor, bias: Tensor?, compute: Compute = .current) {
        precondition(inputMajorWeight.rank == 2, "input-major weight must be [in, out], got \(inputMajorWeight.shape)")
        if let bias { precondition(bias.shape == [inputMajorWeight.shape[1]], "linear bias \(bias.shape) for [in, out] \(inputMajorWeight.shape)") }
        self.init(checkedInputMajor: inputMajorWeight, bias: bias, compute: compute)
    }

    private init(checkedInputMajor weight: Tensor, bias: Tensor?, compute: Compute) {
        inputFeatures = weight.shape[0]
        outputFeatures = weight.shape[1]
        self.bias = bias?.contiguous()
        switch compute.backend {
        case .openBLAS:
            precondition(compute.precision == .f32, "\(ComputeError.bf16NeedsOneDNN)")
            weightInputMajor = weight.contiguous()
            matmul = nil
        case .oneDNN:
            do {
                matmul = try OneDNNMatmul(inputMajorWeight: weight, bias: self.bias, precision: compute.precision)
            } catch {
                preconditionFailure("linear [\(inputFeatures), \(outputFeatures)] on oneDNN \(compute.precision): \(error)")
            }
            weightInputMajor = nil
        }
    }

    /// The backend and precision this layer runs on.
    public var compute: Compute {
        matmul.map { Compute(backend: .oneDNN, precision: $0.precision) } ?? .openBLAS
    }

    /// The row count, at least `rows`, at which this layer's product of `rows` independent
    /// rows is done soonest: OpenBLAS's kernels finish sooner on whole row blocks
    /// (`BLAS.efficientRows`); oneDNN's primitives are made for the exact row count, where
    /// padding rows would be work for nothing.
    public func efficientRows(_ rows: Int) -> Int {
        matmul == nil ? BLAS.efficientRows(rows) : rows
    }

    /// What runs this layer's product for `rows` rows: oneDNN's implementation
    /// (`brg:avx512_core_bf16`…) or OpenBLAS's kernel family.
    public func implementation(rows: Int) -> String {
        guard let matmul else { return "OpenBLAS sgemm \(BLAS.coreName)" }
        do { return try matmul.implementation(rows: rows) } catch { return "oneDNN failed: \(error)" }
    }

    /// The weight, input-major [inputFeatures, outputFeatures] (rebuilt from oneDNN's layout
    /// when the layer runs there, rounded to BF16 if it is held so).
    public var inputMajorWeight: Tensor { weightInputMajor ?? matmul!.inputMajorWeight() }

    /// [outputFeatures, inputFeatures], as `torch.nn.Linear` stores it (a copy).
    public var weight: Tensor { inputMajorWeight.transposed().contiguous() }

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
        if let matmul {
            matmul.apply(rows: rows, input: input, output: output, accumulate: accumulate)
            return
        }
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
        weightInputMajor!.withUnsafeBufferPointer { w in
            BLAS.gemm(
                m: rows, n: out, k: inputFeatures,
                a: input, lda: inputFeatures,
                b: w.baseAddress!, ldb: out,
                beta: (bias == nil && !accumulate) ? 0 : 1,
                c: output, ldc: out)
        }
    }
}
