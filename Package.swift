// swift-tools-version: 6.1
import PackageDescription

/// Warnings are errors in CI (MERD_STRICT=1), so a warning cannot land unnoticed.
let strict: [SwiftSetting] =
    Context.environment["MERD_STRICT"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : []

/// The numeric targets are optimised in debug builds too: their tests train networks and run
/// models, which unoptimised Swift makes 10–50× slower (a fusion training test: 735 s → 30 s).
let numeric: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "merd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "merd", targets: ["merd"]),
        .library(name: "NeuralKit", targets: ["NeuralKit"]),
        .library(name: "MediaTypes", targets: ["MediaTypes"]),
        .library(name: "StreamEngine", targets: ["StreamEngine"]),
        .library(name: "CaptureFile", targets: ["CaptureFile"]),
        .library(name: "MediaCodec", targets: ["MediaCodec"]),
        .library(name: "FusionTraining", targets: ["FusionTraining"]),
        // For the fuzz harnesses (Fuzz/): the events protocol and the daemon's configuration.
        .library(name: "MerdEvents", targets: ["MerdEvents"]),
        .library(name: "MerdDaemon", targets: ["MerdDaemon"]),
        .library(name: "EventHistory", targets: ["EventHistory"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // System-library shims: each names its pkg-config module so the flags come from the system.
        .systemLibrary(
            name: "CALSA", pkgConfig: "alsa",
            providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(
            name: "CV4L2",
            providers: [.apt(["linux-libc-dev"])]),
        // FFmpeg's headers only (on Debian's default include path): merd opens the libraries
        // when it first uses them (CFFmpegLoader), so no FFmpeg library is linked.
        .systemLibrary(
            name: "CFFmpeg",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // libmosquitto, the MQTT client of `merd bridge mqtt`.
        .systemLibrary(
            name: "CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        // oneDNN's C API: matmul and convolution primitives (Debian ships no pkg-config file).
        .systemLibrary(
            name: "COneDNN",
            providers: [.apt(["libdnnl-dev"])]),

        .target(name: "MediaTypes", swiftSettings: strict),
        // A lock ThreadSanitizer sees (Locked.swift says why not the standard library's Mutex).
        .target(name: "Locking", swiftSettings: strict),
        // Element-wise kernels in C, vectorised per CPU (target_clones); always optimised,
        // since a debug build of them would make every test of a model crawl. Never
        // sanitizer-instrumented: the dynamic loader runs target_clones' resolvers before any
        // sanitizer runtime is up, and an instrumented resolver crashes the process at load.
        .target(
            name: "CNeuralKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-Wall", "-Werror", "-fno-sanitize=all"])],
            linkerSettings: [.linkedLibrary("m")]),
        .target(name: "CSystemShims"),
        // FFmpeg's log callback, which counts the warnings a damaged file causes (C: FFmpeg
        // calls it with a va_list). Debian's FFmpeg headers are on the default include path.
        .target(name: "CFFmpegLog", dependencies: ["CFFmpegLoader"], cSettings: [.unsafeFlags(["-Wall", "-Werror"])]),
        // FFmpeg's libraries opened on first use (dlopen) rather than at start: linked, they
        // bring ~100 more libraries and ~16 MiB of resident pages into every merd process,
        // the ones that decode nothing included. Its forwarders are hidden, never exported.
        .target(name: "CFFmpegLoader", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fvisibility=hidden"])]),
        // libcurl opened when merd first downloads (`merd models fetch`) rather than linked, as
        // Foundation's URLSession would link it with ~28 libraries more into every process.
        // Builds against Debian's libcurl4-openssl-dev headers; calls only through dlsym.
        .target(name: "CCurlLoader", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fvisibility=hidden"])]),
        // v1 events as Codable types: the one model of the protocol the engine, the server,
        // `merd subscribe` and the tests share.
        .target(name: "MerdEvents", swiftSettings: strict),
        // Every event kept in SQLite (WAL) for replay after a reconnect and for `merd history`.
        .target(name: "EventHistory", dependencies: ["Locking", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .target(
            name: "EventServer",
            dependencies: ["Locking", "MerdEvents", "EventHistory", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        .target(name: "NeuralKit", dependencies: ["Locking", "COpenBLAS", "COneDNN", "CNeuralKernels"], swiftSettings: numeric),
        .target(name: "CaptureALSA", dependencies: ["Locking", "CALSA", "MediaTypes"], swiftSettings: strict),
        // FFmpeg helpers both capture targets use: decoded frame → RGB, error messages.
        .target(name: "MediaCodec", dependencies: ["CFFmpeg", "CFFmpegLoader", "CFFmpegLog", "MediaTypes"], swiftSettings: strict),
        .target(name: "CaptureV4L2", dependencies: ["Locking", "CV4L2", "CFFmpeg", "MediaTypes", "MediaCodec"], swiftSettings: strict),
        .target(name: "CaptureFile", dependencies: ["Locking", "CFFmpeg", "MediaTypes", "MediaCodec"], swiftSettings: strict),
        // Inference only: the stages, the engine that runs them, the events it makes.
        .target(
            name: "StreamEngine",
            dependencies: ["Locking", "NeuralKit", "CNeuralKernels", "MediaTypes", "MediaCodec", "MerdEvents", .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: numeric),
        // Training apart from serving: the tape, the trainer, datasets, metrics, augmentation,
        // evaluation corpora.
        .target(name: "FusionTraining", dependencies: ["Locking", "StreamEngine", "NeuralKit", "CNeuralKernels", "MediaTypes", "MediaCodec", "CaptureFile"],
                swiftSettings: numeric),
        // The daemon as a library: configuration, sources, model store, systemd, services.
        .target(
            name: "MerdDaemon",
            dependencies: [
                "Locking", "StreamEngine", "MerdEvents", "EventServer", "EventHistory", "MediaTypes", "MediaCodec", "CaptureFile", "CaptureALSA", "CaptureV4L2", "NeuralKit", "CCrypto", "CCurlLoader",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        // A client of the events socket, for merd's own commands and processes.
        .target(name: "EventsClient", dependencies: ["MerdEvents"], swiftSettings: strict),
        // `merd bridge mqtt`: the events socket to an MQTT broker, its own process.
        .target(
            name: "MerdBridge",
            dependencies: ["Locking", "MediaTypes", "MerdEvents", "EventsClient", "CMosquitto",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        // `merd dashboard`: the live page, its own process (Hummingbird).
        .target(
            name: "MerdDashboard",
            dependencies: ["Locking", "MerdEvents", "EventsClient", "EventHistory",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // `merd bench`'s measurements as a library, so that tests run them in-process.
        .target(name: "MerdBench", dependencies: ["Locking", "StreamEngine", "FusionTraining", "CaptureFile", "MediaTypes", "NeuralKit", "CNeuralKernels", "MerdEvents"],
                swiftSettings: strict),
        .executableTarget(
            name: "merd",
            dependencies: [
                "MerdBench", "MerdBridge", "MerdDashboard", "EventHistory", "EventsClient", "Locking",
                "NeuralKit", "MediaTypes", "MediaCodec", "StreamEngine", "FusionTraining", "CaptureFile", "CaptureALSA", "CaptureV4L2", "CSystemShims",
                "EventServer", "MerdEvents", "MerdDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        // Helpers shared by the test targets (seeded random numbers, fixture and data paths).
        .target(
            name: "TestSupport", dependencies: ["Locking", "NeuralKit", "MediaTypes", "StreamEngine", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "MediaTypesTests", dependencies: ["MediaTypes"], swiftSettings: strict),
        .testTarget(name: "NeuralKitTests", dependencies: ["Locking", "TestSupport", "NeuralKit", "CNeuralKernels"], swiftSettings: strict),
        .testTarget(name: "StreamEngineTests", dependencies: ["Locking", "TestSupport", "StreamEngine", "NeuralKit", "CaptureFile", "MediaCodec", "MerdEvents"], swiftSettings: strict),
        .testTarget(name: "FusionTrainingTests", dependencies: ["TestSupport", "FusionTraining", "StreamEngine", "NeuralKit", "CaptureFile", "MediaCodec", "Locking"], swiftSettings: strict),
        .testTarget(
            name: "MerdDaemonTests",
            dependencies: [
                "Locking", "TestSupport", "MerdDaemon", "EventServer", "StreamEngine", "CaptureV4L2", "CaptureALSA",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .testTarget(name: "CaptureALSATests", dependencies: ["CaptureALSA", "MediaTypes"], swiftSettings: strict),
        .testTarget(name: "CaptureV4L2Tests", dependencies: ["CaptureV4L2", "MediaTypes"], swiftSettings: strict),
        .testTarget(name: "EventServerTests", dependencies: ["EventServer", "EventHistory", "MerdEvents", "Locking", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "EventHistoryTests", dependencies: ["EventHistory"], swiftSettings: strict),
        .testTarget(name: "MerdBridgeTests", dependencies: ["MerdBridge"], swiftSettings: strict),
        .testTarget(name: "MerdEventsTests", dependencies: ["MerdEvents"], swiftSettings: strict),
        .testTarget(name: "CaptureFileTests", dependencies: ["TestSupport", "CaptureFile", "MediaTypes", "MediaCodec"], swiftSettings: strict),
        .testTarget(name: "ShimTests", dependencies: ["CALSA", "CV4L2", "CFFmpeg", "CFFmpegLoader", "COpenBLAS", "COneDNN"], swiftSettings: strict),
        .testTarget(name: "MerdBenchTests", dependencies: ["TestSupport", "MerdBench", "StreamEngine", "MediaTypes", "NeuralKit", "CNeuralKernels"], swiftSettings: strict),
        // Runs the built `merd` binary as a user would; depending on it makes `swift test` build it.
        .testTarget(name: "merdTests", dependencies: ["Locking", "TestSupport", "merd", "EventServer", "EventHistory", "NeuralKit", "StreamEngine", "FusionTraining", "MerdDaemon", "MerdEvents", "MediaCodec"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)

/// Sanitizer runs (scripts/sanitize) build with MERD_SANITIZE=thread or address: merd's own
/// targets are instrumented, its dependencies (NIO, GRDB, Hummingbird, …) are not, so the
/// sanitized build reuses their objects from the plain build in the same build folder rather
/// than compiling them twice more. The sanitizers check merd's code; the dependencies are as
/// uninstrumented as the toolchain's own libraries always were.
if let sanitizer = Context.environment["MERD_SANITIZE"], !sanitizer.isEmpty {
    // CNeuralKernels is never instrumented: see its target.
    for target in package.targets where target.type != .system && target.name != "CNeuralKernels" {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=\(sanitizer)"])]
        target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(["-fsanitize=\(sanitizer)"])]
        target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(["-sanitize=\(sanitizer)"])]
    }
}
