import Testing
@testable import NeuralKit

/// The backend merd takes when nothing names one (`Compute.standard`): the one whose dense
/// products are faster on this CPU.
@Suite("The standard compute choice")
struct ComputeTests {
    static let failed = OneDNNError(operation: "create a matmul", status: 5)

    @Test("oneDNN where its matmul runs brgemm kernels; with gemm:jit, oneDNN unless measured clearly slower; oneDNN where OpenBLAS is generic or oneDNN cannot be probed")
    func rule() {
        let unmeasured: () throws(OneDNNError) -> Double = { () throws(OneDNNError) in
            Issue.record("the names settle this case: nothing should be measured")
            return 1
        }
        for kernel in ["brg:avx512_core", "brg:avx512_core_bf16", "brg:avx512_core_amx"] {
            let choice = Compute.standard(denseImplementation: .success(kernel), openBLASKernels: "Zen", oneDNNSpeedup: unmeasured)
            #expect(choice.compute == .oneDNN && choice.reason.contains(kernel), "\(kernel): \(choice)")
        }
        let faster = Compute.standard(denseImplementation: .success("gemm:jit"), openBLASKernels: "Zen") { 1.64 }
        #expect(faster.compute == .oneDNN, "\(faster)")
        #expect(faster.reason.contains("gemm:jit") && faster.reason.contains("Zen") && faster.reason.contains("1.64×"),
                "the reason names both kernels and the measured ratio: \(faster.reason)")
        let withinNoise = Compute.standard(denseImplementation: .success("gemm:jit"), openBLASKernels: "Zen") { 0.9 }
        #expect(withinNoise.compute == .oneDNN && withinNoise.reason.contains("0.9×"), "a start's noise does not flip it: \(withinNoise)")
        let slower = Compute.standard(denseImplementation: .success("gemm:jit"), openBLASKernels: "Haswell") { 0.7 }
        #expect(slower.compute == .openBLAS && slower.reason.contains("0.7×") && slower.reason.contains("Haswell"), "\(slower)")
        let unmeasurable = Compute.standard(denseImplementation: .success("gemm:jit"), openBLASKernels: "Zen") { () throws(OneDNNError) in
            throw Self.failed
        }
        #expect(unmeasurable.compute == .openBLAS && unmeasurable.reason.contains("could not be measured"), "\(unmeasurable)")
        let genericBLAS = Compute.standard(denseImplementation: .success("gemm:jit"), openBLASKernels: "Prescott", oneDNNSpeedup: unmeasured)
        #expect(genericBLAS.compute == .oneDNN && genericBLAS.reason.contains("Prescott"), "\(genericBLAS)")
        // The daemon's W^X fallback (`standardFallback`) says why oneDNN cannot run and takes OpenBLAS.
        #expect(Compute.standard(denseImplementation: .failure(Self.failed), openBLASKernels: "Zen", oneDNNSpeedup: unmeasured).compute == .oneDNN)
        #expect(!OneDNN.isBrgemm("gemm:jit") && !OneDNN.isBrgemm("ref:any") && OneDNN.isBrgemm("brg:avx512_core"))
    }

    @Test("the start-up probe measures a positive ratio of the two backends' speeds on this CPU")
    func probe() throws {
        let speedup = try BackendSpeedProbe.oneDNNSpeedup(rounds: 2)
        print("oneDNN over OpenBLAS on live speech's products here: \(speedup)×")
        #expect(speedup.isFinite && speedup > 0, "\(speedup)")
    }

    @Test("the large CNN encoders: oneDNN where the standard is OpenBLAS and oneDNN's convolutions have JIT kernels, else the standard")
    func encoderRule() {
        let avx2 = Compute.standardEncoders(standard: .openBLAS, convolutionImplementation: .success("jit:avx2"))
        #expect(avx2?.compute == .oneDNN && avx2?.reason.contains("jit:avx2") == true, "\(String(describing: avx2))")
        #expect(Compute.standardEncoders(standard: .openBLAS, convolutionImplementation: .success("brgconv:avx512_core"))?.compute == .oneDNN)
        // oneDNN's im2col GEMM or reference loops are no better than OpenBLAS's products.
        for implementation in ["gemm:jit", "ref:any"] {
            #expect(Compute.standardEncoders(standard: .openBLAS, convolutionImplementation: .success(implementation)) == nil, "\(implementation)")
        }
        #expect(Compute.standardEncoders(standard: .openBLAS, convolutionImplementation: .failure(Self.failed)) == nil)
        #expect(Compute.standardEncoders(standard: .oneDNN, convolutionImplementation: .success("jit:avx2")) == nil, "already oneDNN")
    }

    @Test("the encoders' choice: a task's settings first, then the process's; setting the process's default clears it")
    func encoderChoice() {
        let saved = (Compute.default, Compute.encoders)
        defer { Compute.default = saved.0; Compute.encoders = saved.1 }
        Compute.default = .openBLAS
        #expect(Compute.encoders == nil && Compute.currentForEncoders == .openBLAS, "a named backend is every layer's")
        Compute.encoders = .oneDNN
        #expect(Compute.currentForEncoders == .oneDNN && Compute.current == .openBLAS)
        #expect(Compute.withSettings(.openBLAS) { Compute.currentForEncoders } == .openBLAS, "withSettings names every layer's")
        Compute.default = .oneDNN
        #expect(Compute.encoders == nil && Compute.currentForEncoders == .oneDNN)
    }

    @Test("this machine: oneDNN's matmul runs brgemm exactly on an AVX-512 CPU, and the standard choice follows")
    func thisMachine() throws {
        let implementation = try OneDNN.denseImplementation.get()
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(CPUFlags.current.contains)
        #expect(OneDNN.isBrgemm(implementation) == avx512, "\(implementation) on \(CPUFlags.modelName)")
        let genericBLAS = BLASKernelHint.genericFamilies.contains(BLAS.coreName)
        if avx512 || genericBLAS {
            #expect(Compute.standard == .oneDNN, "\(Compute.standardReason)")
        } else {
            // gemm:jit against a known OpenBLAS: the choice was measured, and the log says so.
            #expect(Compute.standardReason.contains("measured at start"), "\(Compute.standardReason)")
        }
        #expect(Compute.standard.precision == .f32)
        #expect(Compute.standardReason.contains(implementation), "\(Compute.standardReason)")
        // oneDNN's convolutions JIT for AVX2 and up, so where OpenBLAS is the standard, the
        // large CNN encoders take oneDNN.
        let convolution = try OneDNN.convolutionImplementation.get()
        #expect(convolution.hasPrefix("jit") || convolution.hasPrefix("brg"), "\(convolution) on \(CPUFlags.modelName)")
        #expect(Compute.standardEncoders?.compute == (Compute.standard == .openBLAS ? .oneDNN : nil), "\(String(describing: Compute.standardEncoders))")
    }
}
