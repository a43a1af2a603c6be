// swift-tools-version:6.1
import PackageDescription

/// Release builds keep bounds and overflow checks; hot paths avoid them explicitly
/// where a measurement showed it mattered. They drop the run-time exclusivity checks (the
/// compiler still proves exclusivity statically wherever it can, and debug builds keep the
/// run-time checks): the executor's per-row work touches operator state on every row, and
/// the checks' thread-local bookkeeping cost 5-10% of scans, joins and bulk inserts.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "DriftDB",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "driftdb", targets: ["DriftHost"]),
        .library(name: "DriftCore", targets: ["DriftCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Tests only: the Swift PostgreSQL client, against a real server process.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        // System-library shims.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CPgQuery", path: "Sources/CPgQuery"),
        .systemLibrary(name: "CDriftSystem", path: "Sources/CDriftSystem"),
        .systemLibrary(name: "CRdKafka", path: "Sources/CRdKafka"),

        // Core, split by layer so the compiler enforces the layering:
        // Storage knows bytes and files; Engine knows rows, tables and transactions;
        // SQL knows statements. None of them imports NIO or a plugin.
        .target(
            name: "DriftStorage",
            dependencies: ["CZstd", "CDriftSystem", .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            path: "Sources/Core/Storage",
            swiftSettings: swiftSettings),
        .target(
            name: "DriftCore",
            dependencies: ["DriftStorage", .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto")],
            path: "Sources/Core/Engine",
            swiftSettings: swiftSettings),
        .target(
            name: "DriftSQL",
            dependencies: ["DriftCore", "CPgQuery", .product(name: "CoreMetrics", package: "swift-metrics")],
            path: "Sources/Core/SQL",
            swiftSettings: swiftSettings),

        // What plugins build on: the plugin protocol, its context and the extension points
        // (authentication, change feed) through which plugins meet without importing each other.
        .target(
            name: "DriftPluginAPI",
            dependencies: [
                "DriftCore", "DriftSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Core/PluginAPI",
            swiftSettings: swiftSettings),

        // Plugins: each imports Core's plugin API (and what it speaks), never another plugin.
        .target(
            name: "DriftPGWire",
            dependencies: [
                "DriftPluginAPI", "CDriftSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Plugins/PGWire",
            swiftSettings: swiftSettings),
        .target(
            name: "DriftAuth",
            dependencies: [
                "DriftPluginAPI", "DriftCore", "DriftStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Plugins/Auth",
            swiftSettings: swiftSettings),
        .target(
            name: "DriftMetrics",
            dependencies: [
                "DriftPluginAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Plugins/Metrics",
            swiftSettings: swiftSettings),
        .target(
            name: "DriftCDC",
            dependencies: [
                "DriftCore", "DriftStorage", "DriftPluginAPI", "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Plugins/CDC",
            swiftSettings: swiftSettings),

        // The host process and CLI.
        .executableTarget(
            name: "DriftHost",
            dependencies: [
                "DriftCore", "DriftSQL", "DriftPluginAPI", "DriftPGWire", "DriftAuth", "DriftMetrics", "DriftCDC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host",
            swiftSettings: swiftSettings),

        // Benchmarks (run by hand) and the crash-test child process.
        .executableTarget(
            name: "DriftBench",
            dependencies: ["DriftCore", "DriftSQL"],
            path: "Benchmarks/DriftBench",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "DriftCrashWriter",
            dependencies: ["DriftCore"],
            path: "Tests/CrashWriter",
            swiftSettings: swiftSettings),

        // What every test target shares: a quiet test logger.
        .target(
            name: "DriftTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/Support",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftStorageTests",
            dependencies: ["DriftStorage", "DriftTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftCoreTests",
            dependencies: ["DriftCore", "DriftStorage", "DriftTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftSQLTests",
            dependencies: ["DriftSQL", "DriftCore", "DriftTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftPGWireTests",
            dependencies: [
                "DriftPGWire", "DriftPluginAPI", "DriftTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftAuthTests",
            dependencies: ["DriftAuth", "DriftCore", "DriftPluginAPI"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftCDCTests",
            dependencies: ["DriftCDC", "DriftCore", "DriftTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DriftHostTests",
            dependencies: ["DriftHost", "DriftCrashWriter", "DriftTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings),
    ]
)
