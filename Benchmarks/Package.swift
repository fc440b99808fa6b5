// swift-tools-version: 6.1
// Benchmarks live in their own package so the main build never pulls in the benchmark
// framework. Run: `cd Benchmarks && swift package benchmark` (or ./run, which adds the
// NumPy reference and both OpenBLAS kernel settings).
import PackageDescription

let package = Package(
    name: "merd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "merd", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The plain reference: cblas_sgemm called directly, with nothing of NeuralKit between.
        .systemLibrary(name: "CBLASReference", pkgConfig: "openblas"),
        .executableTarget(
            name: "NeuralKitBenchmarks",
            dependencies: [
                "CBLASReference",
                .product(name: "NeuralKit", package: "merd"),
                .product(name: "MediaTypes", package: "merd"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/NeuralKitBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "VideoBenchmarks",
            dependencies: [
                .product(name: "CaptureFile", package: "merd"),
                .product(name: "MediaTypes", package: "merd"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VideoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "FusionBenchmarks",
            dependencies: [
                .product(name: "StreamEngine", package: "merd"),
                .product(name: "FusionTraining", package: "merd"),
                .product(name: "MediaTypes", package: "merd"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FusionBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "AudioBenchmarks",
            dependencies: [
                .product(name: "StreamEngine", package: "merd"),
                .product(name: "MediaCodec", package: "merd"),
                .product(name: "MediaTypes", package: "merd"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AudioBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ],
    swiftLanguageModes: [.v6]
)
