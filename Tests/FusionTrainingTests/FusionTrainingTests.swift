import Foundation
import NeuralKit
@testable import FusionTraining
import StreamEngine
import TestSupport
import Testing

@Suite("Fusion training learns", .serialized)
struct FusionTrainingTests {
    static let dataset = try! FusionDataset.load(features: TestPaths.fixture("fusion/dataset.safetensors"),
                                                 labels: TestPaths.fixture("fusion/dataset.csv"))

    /// 3000 clips whose valence is the posterior-weighted valence of the classes.
    static let valenceDataset = try! FusionDataset.load(features: TestPaths.fixture("fusion/valence.safetensors"),
                                                        labels: TestPaths.fixture("fusion/valence.csv"))

    /// The torch re-implementation's out-of-fold scores on the same data and recipe.
    static func torch(_ head: FusionHead, fixture: String = "dataset") -> (f1: Double, accuracy: Double, mse: Double) {
        let file = try! SafeTensorsFile(path: TestPaths.fixture("fusion/\(fixture).safetensors"))
        let json = try! JSONSerialization.jsonObject(with: Data(file.metadata["torch_structure1_\(head.rawValue)"]!.utf8)) as! [String: Double]
        return (json["f1"]!, json["accuracy"]!, json["mse"]!)
    }

    static func train(_ head: FusionHead, on dataset: FusionDataset = Self.dataset) throws -> FusionMetrics {
        // Mini-batches of 32 clips make GEMMs too small to share between threads: OpenBLAS's
        // second thread only spins (measured: 2 threads ~1.5× slower here). Tests run serially.
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = threads }
        var options = FusionTrainingOptions()
        options.epochs = 30
        options.folds = 5
        let architecture = FusionArchitecture(inputs: dataset.inputs, structure: .parallel, head: head)
        let results = try FusionTrainer.crossValidate(architecture, dataset: dataset, options: options)
        let oof = FusionTrainer.outOfFold(results, count: dataset.count, labels: 6)
        return FusionMetrics(trueLabels: dataset.labels, predictedLabels: oof.probabilities.argmaxRows, trueValence: dataset.valence,
                             predictedValence: oof.valence, labelCount: 6)
    }

    @Test("on a dataset whose label is a function of HL18…HL20, merd reaches what the torch recipe reaches")
    func learns() throws {
        for head in [FusionHead.jdev, .plain] {
            let merd = try Self.train(head)
            let torch = Self.torch(head)
            print(String(format: "fusion training, structure 1, %@ head, 600 clips, 5 folds × 30 epochs: merd F1 %.3f acc %.3f MSE %.3f | torch F1 %.3f acc %.3f MSE %.3f",
                         head.rawValue, merd.weightedF1, merd.accuracy, merd.valenceMSE, torch.f1, torch.accuracy, torch.mse))
            // Chance is 1/6; the same recipe in torch reaches ~0.65. Different random streams
            // (initialisation, shuffling, dropout) move either by a few points.
            #expect(merd.accuracy > 0.5 && merd.accuracy >= torch.accuracy - 0.06, "\(head): \(merd)")
            #expect(merd.valenceMSE <= torch.mse * 1.15, "\(head): \(merd)")
        }
    }

    @Test("JDEV lowers valence MSE where valence follows the class posterior (3000 clips), in merd as in the torch recipe")
    func jointDecodingHelpsValence() throws {
        let plain = try Self.train(.plain, on: Self.valenceDataset)
        let jdev = try Self.train(.jdev, on: Self.valenceDataset)
        let torchPlain = Self.torch(.plain, fixture: "valence"), torchJDEV = Self.torch(.jdev, fixture: "valence")
        print(String(format: "fusion training, structure 1, 3000 clips, valence = posterior-weighted class valence, 5 folds × 30 epochs: "
                     + "merd plain acc %.3f MSE %.3f, JDEV acc %.3f MSE %.3f | torch plain acc %.3f MSE %.3f, JDEV acc %.3f MSE %.3f",
                     plain.accuracy, plain.valenceMSE, jdev.accuracy, jdev.valenceMSE,
                     torchPlain.accuracy, torchPlain.mse, torchJDEV.accuracy, torchJDEV.mse))
        // The torch recipe's JDEV is ~12 % below its plain head here; merd must show the same
        // direction by a clear margin (5 %), not a tie inside run-to-run noise. Each head must
        // also land near torch's: different random streams (initialisation, shuffling,
        // dropout) move the MSE of one run by up to ~20 % on this data.
        #expect(torchJDEV.mse < torchPlain.mse * 0.95, "the fixture shows the effect in torch")
        #expect(jdev.valenceMSE < plain.valenceMSE * 0.95, "merd: JDEV \(jdev.valenceMSE) vs plain \(plain.valenceMSE)")
        #expect(jdev.valenceMSE <= torchJDEV.mse * 1.25 && plain.valenceMSE <= torchPlain.mse * 1.25)
        #expect(jdev.accuracy >= torchJDEV.accuracy - 0.06 && plain.accuracy >= torchPlain.accuracy - 0.06)
    }

    /// Both backends, but OpenBLAS alone where the process is pinned to it (scripts/sanitize:
    /// ThreadSanitizer cannot follow oneDNN's OpenMP runtime).
    static let backends = ProcessInfo.processInfo.environment["MERD_COMPUTE"] == "openblas" ? [ComputeBackend.openBLAS] : ComputeBackend.allCases

    @Test("folds trained side by side, each on one thread, give exactly the folds trained one after another, on either backend",
          arguments: Self.backends)
    func parallelFolds(backend: ComputeBackend) throws {
        var options = FusionTrainingOptions()
        options.epochs = 3
        options.folds = 3
        let architecture = FusionArchitecture(inputs: Self.dataset.inputs, structure: .parallel, head: .jdev)
        options.parallelFolds = 1
        let threads = BLAS.threadCount
        let teams = ComputeThreads.openMPThreads
        BLAS.threadCount = 1
        let sequential = try Compute.withSettings(Compute(backend: backend)) {
            try ComputeThreads.withOpenMPThreads(1) { try FusionTrainer.crossValidate(architecture, dataset: Self.dataset, options: options) }
        }
        BLAS.threadCount = threads
        // Three workers for three folds; two, so that folds pass between threads epoch by epoch.
        for workers in [3, 2] {
            options.parallelFolds = workers
            let parallel = try Compute.withSettings(Compute(backend: backend)) {
                try FusionTrainer.crossValidate(architecture, dataset: Self.dataset, options: options)
            }
            #expect(BLAS.threadCount == threads && ComputeThreads.openMPThreads == teams, "the thread counts are restored")
            #expect(parallel.map(\.bestEpoch) == sequential.map(\.bestEpoch))
            #expect(parallel.map(\.validationIndices) == sequential.map(\.validationIndices))
            #expect(parallel.map(\.valence) == sequential.map(\.valence), "\(workers) workers: bit for bit: same seeds, one BLAS thread each")
            #expect(parallel.map(\.probabilities) == sequential.map(\.probabilities))
        }
    }

    @Test("the fold schedule deals epochs so that two workers stay busy to the end of 5 folds; a failed fold is not dealt again")
    func foldSchedule() {
        // Two workers, each epoch taking one unit of time: they take turns through the folds.
        var schedule = FoldSchedule(folds: 5, epochs: 4)
        var busyUnits = 0, units = 0
        while !schedule.isComplete {
            let taken = [schedule.take(), schedule.take()].compactMap { $0 }
            #expect(Set(taken).count == taken.count, "a fold is held by one worker at a time")
            for fold in taken { schedule.release(fold) }
            busyUnits += taken.count
            units += 1
        }
        #expect(schedule.epochsDone == [4, 4, 4, 4, 4])
        #expect(busyUnits == 20 && units == 10, "20 epochs in 10 units: no worker idle (whole folds took 12: 2 + 2 + 1 folds)")

        // With a fold held, the other worker gets the next fold with the fewest epochs done.
        var turns = FoldSchedule(folds: 3, epochs: 2)
        let first = turns.take(), second = turns.take()
        #expect(first == 0 && second == 1)
        turns.release(0)
        #expect(turns.take() == 2, "fold 2 has done none: it goes before fold 0 again")
        turns.release(1, failed: true)
        #expect(turns.take() == 0)
        turns.release(0)
        turns.release(2)
        #expect(turns.epochsDone == [2, 0, 1])
        #expect(turns.take() == 2 && turns.take() == nil, "fold 0 is done; the failed fold 1 is not dealt again")
        #expect(!turns.isComplete)
        turns.release(2)
        #expect(turns.isComplete && turns.take() == nil)
    }

    @Test("ensemble weights sum to one and do no worse than the best member on the data they were chosen on")
    func ensemble() throws {
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = threads }
        var options = FusionTrainingOptions()
        options.epochs = 8
        options.folds = 3
        var predictions: [(probabilities: [[Float]], valence: [Float])] = []
        var best = -Double.infinity
        for structure in FusionStructure.allCases {
            let architecture = FusionArchitecture(inputs: Self.dataset.inputs, structure: structure, head: .jdev)
            let results = try FusionTrainer.crossValidate(architecture, dataset: Self.dataset, options: options)
            let oof = FusionTrainer.outOfFold(results, count: Self.dataset.count, labels: 6)
            predictions.append(oof)
            best = max(best, FusionMetrics(trueLabels: Self.dataset.labels, predictedLabels: oof.probabilities.argmaxRows,
                                           trueValence: Self.dataset.valence, predictedValence: oof.valence, labelCount: 6).combined)
        }
        let search = FusionTrainer.ensembleWeights(predictions, dataset: Self.dataset, labels: 6)
        #expect(abs(search.weights.reduce(0, +) - 1) < 1e-5 && search.weights.count == 3)
        #expect(search.metrics.combined >= best - 1e-9)
    }
}

