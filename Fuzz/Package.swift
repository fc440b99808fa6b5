// swift-tools-version: 6.1
// libFuzzer harnesses for the parsers of outside input, in their own package so the main build
// never carries fuzzer instrumentation. Run: scripts/fuzz SECONDS [harness…] (it builds with
// -sanitize=fuzzer,address and runs each harness from its seed corpus in Fuzz/Corpus/).
import PackageDescription

let package = Package(
    name: "merd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "merd", path: "../")],
    targets: [
        // libFuzzer's driver, and the input as a file (the readers map files, as in the daemon).
        .target(name: "FuzzInput", path: "Sources/FuzzInput"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzInput", .product(name: "NeuralKit", package: "merd")]),
        .executableTarget(name: "FuzzTorchCheckpoint", dependencies: ["FuzzInput", .product(name: "NeuralKit", package: "merd")]),
        .executableTarget(name: "FuzzDlib", dependencies: ["FuzzInput", .product(name: "StreamEngine", package: "merd")]),
        .executableTarget(name: "FuzzConfiguration", dependencies: ["FuzzInput", .product(name: "MerdDaemon", package: "merd")]),
        .executableTarget(name: "FuzzSubscriberLine", dependencies: ["FuzzInput", .product(name: "MerdEvents", package: "merd")]),
    ],
    swiftLanguageModes: [.v6]
)
