import Benchmark
import MediaTypes
import Foundation
import FusionTraining
import StreamEngine

/// Fusion at the paper's sizes (HL18, HL19, HL20 1024-d, MR 1024-d, RF 2048-d; 3373 clips as
/// MER 2023's training set): training throughput in clips per second (one epoch, forward and
/// backward, Adam), and the inference cost of one utterance in microseconds, per structure.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, clipsPerSecond, microsecondsPerUtterance],
                                           timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 5)
    let inputs = [FusionInput(name: "HL18", size: 1024), FusionInput(name: "HL19", size: 1024), FusionInput(name: "HL20", size: 1024),
                  FusionInput(name: "MR", size: 1024), FusionInput(name: "RF", size: 2048)]
    let clips = 3373
    var state: UInt64 = 42
    func random() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
    }
    var features: [String: [Float]] = [:]
    for input in inputs { features[input.name] = (0..<(clips * input.size)).map { _ in random() } }
    let labels = (0..<clips).map { $0 % 6 }
    let dataset = FusionDataset(names: (0..<clips).map { "clip\($0)" }, labels: labels, valence: labels.map { Float($0) - 2.5 },
                                features: features, sizes: Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.size) }))
    let validation = dataset.subset(Array(0..<32))

    for structure in FusionStructure.allCases {
        let architecture = FusionArchitecture(inputs: inputs, structure: structure, head: .jdev)
        Benchmark("train one epoch, structure \(structure.rawValue), 3373 clips") { benchmark in
            var options = FusionTrainingOptions()
            options.epochs = 1
            for _ in benchmark.scaledIterations {
                let elapsed = try ContinuousClock().measure {
                    _ = try FusionTrainer.train(architecture, training: dataset, validation: validation, options: options)
                }
                benchmark.measurement(clipsPerSecond, Int(Double(clips) / elapsed.seconds))
            }
        }
        Benchmark("predict one utterance, structure \(structure.rawValue)") { benchmark in
            var options = FusionTrainingOptions()
            options.epochs = 1
            let model = try FusionTrainer.train(architecture, training: validation, validation: validation, options: options).model
            let one = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, Array(features[$0.name]!.prefix($0.size))) })
            for _ in benchmark.scaledIterations {
                let repeats = 200
                let elapsed = ContinuousClock().measure { for _ in 0..<repeats { blackHole(model.predict(one, rows: 1)) } }
                benchmark.measurement(microsecondsPerUtterance, Int(elapsed.seconds / Double(repeats) * 1e6))
            }
        }
    }
}

let clipsPerSecond = BenchmarkMetric.custom("clips/s (training)", polarity: .prefersLarger, useScalingFactor: false)
let microsecondsPerUtterance = BenchmarkMetric.custom("µs per utterance", polarity: .prefersSmaller, useScalingFactor: false)
