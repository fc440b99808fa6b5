import ArgumentParser
import Foundation
import MerdBench
import NeuralKit

/// `merd bench gemm`: dense-layer products on each backend and precision, as a table.
struct BenchGEMM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of C[M,N] = X[M,K]·Wᵀ on OpenBLAS and oneDNN (F32, BF16) at HuBERT's shapes.")

    @Option(help: "Row counts M, comma-separated.")
    var rows: String = GEMMBenchmark.standardRows.map(String.init).joined(separator: ",")

    @Option(help: "Compute threads (OpenBLAS and OpenMP).")
    var threads: Int = 2

    @Option(help: "Timed repeats per product, after one warm-up; the best is reported.")
    var `repeat`: Int = 20

    @Flag(help: "Also time oneDNN primitives built with a runtime row count (DNNL_RUNTIME_DIM_VAL).")
    var runtimeRows = false

    @Flag(help: "Also time oneDNN F32 with its weight 64-byte aligned where merd would place it otherwise (gemm:jit).")
    var alignedWeights = false

    func run() async throws {
        print(MachineDescription.current())
        let rowCounts = try CommaSeparated.values(rows, option: "--rows", what: "positive integers, e.g. 12,48,200") { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        guard threads > 0, `repeat` > 0 else { throw CommandFailure.usage("--threads and --repeat take positive integers") }
        ComputeThreads.configure(threads)
        print("threads: \(ComputeThreads.summary)")
        // The ceiling beside the table: what the multiply-adds reach with nothing but registers.
        print(InstructionPeak.measure(threads: threads))
        var choices: [Compute] = [.openBLAS, .oneDNN]
        if let reason = ComputePrecision.bf16Unavailability {
            print("bf16 skipped: \(reason)")
        } else {
            choices.append(.oneDNNBF16)
        }
        let benchmark = GEMMBenchmark(repeats: `repeat`)
        let stolenBefore = StolenTime.now()
        print("| M | N | K | backend | GFLOP/s | × OpenBLAS | kernel |")
        print("| ---: | ---: | ---: | --- | ---: | ---: | --- |")
        for (outputs, inputs) in GEMMBenchmark.standardOutputsInputs {
            for m in rowCounts {
                let shape = GEMMBenchmark.Shape(rows: m, outputs: outputs, inputs: inputs)
                var reference: Double?
                var runs: [(compute: Compute, runtime: Bool, aligned: Bool)] = choices.map { ($0, false, false) }
                if runtimeRows { runs += choices.filter { $0.backend == .oneDNN }.map { ($0, true, false) } }
                if alignedWeights { runs += choices.filter { $0 == .oneDNN }.map { ($0, false, true) } }
                for (compute, runtime, aligned) in runs {
                    let result = try benchmark.measure(shape, compute: compute, runtimeRows: runtime, alignedWeights: aligned)
                    if compute == .openBLAS { reference = result.gigaFLOPsPerSecond }
                    let ratio = reference.map { String(format: "%.2f", result.gigaFLOPsPerSecond / $0) } ?? "–"
                    let rate = String(format: "%.0f", result.gigaFLOPsPerSecond)
                    print("| \(m) | \(outputs) | \(inputs) | \(compute) | \(rate) | \(ratio) | \(result.kernel) |")
                }
            }
        }
        if let stolen = StolenTime.summary(since: stolenBefore) { print("\nWhile the table ran, \(stolen).") }
    }
}
