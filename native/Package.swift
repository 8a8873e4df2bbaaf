// swift-tools-version:6.0
// fm-runner: the on-device runner for protocol pipeline-gen/1 (see README.md).
// No package dependencies. FMRunnerCore is Foundation-only and builds/tests on Linux; the Apple
// backend in the executable is compiled only where FoundationModels exists (macOS 26+ SDK).
import PackageDescription

let package = Package(
    name: "fm-runner",
    platforms: [.macOS("26.0")],
    products: [
        .executable(name: "fm-runner", targets: ["fm-runner"]),
        .library(name: "FMRunnerCore", targets: ["FMRunnerCore"]),
    ],
    targets: [
        // The schema dialects (protocol/schema-dialects.json, also read by Python) are compiled into the
        // binary as bytes, so the one file stays the one source of truth and no resource bundle is needed.
        .target(
            name: "FMRunnerCore",
            path: ".",
            exclude: ["README.md", "Sources/fm-runner", "Tests", "protocol/pipeline-gen-1.schema.json"],
            sources: ["Sources/FMRunnerCore"],
            resources: [.embedInCode("protocol/schema-dialects.json")]
        ),
        .executableTarget(
            name: "fm-runner",
            dependencies: ["FMRunnerCore"],
            // The Apple backend cannot be compiled on Linux; Swift 5 mode keeps any strict-concurrency
            // disagreement with the FoundationModels SDK a warning rather than a build failure.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(name: "FMRunnerCoreTests", dependencies: ["FMRunnerCore"], path: "Tests/FMRunnerCoreTests"),
    ]
)
