// swift-tools-version: 6.1
import PackageDescription

/// One settings block for every target (STYLE.md house rule 2).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .executable(name: "switchyard-microbench", targets: ["SwitchyardMicroBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
    ],
    targets: [
        // Anthropic Messages wire format: JSON scanning, request validation, body rewriting,
        // error envelopes, usage extraction. Depends on nothing.
        .target(name: "SwitchyardMessages", swiftSettings: swiftSettings),
        // Pure mappers between the Anthropic Messages format and other wire formats (OpenAI Chat Completions),
        // including the stateful stream translator. No I/O.
        .target(name: "SwitchyardTranslation", dependencies: ["SwitchyardMessages"], swiftSettings: swiftSettings),
        // Input moderation: which parts of a request are checked, and the built-in keyword checker.
        .target(
            name: "SwitchyardModeration",
            dependencies: [
                "SwitchyardMessages",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Server-sent events: incremental parser and writer. NIOCore only.
        .target(
            name: "SwitchyardEventStream",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The YAML configuration: model, loader with ${VAR} substitution, errors with line numbers.
        .target(
            name: "SwitchyardConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Keys, money, prices, usage records and the storage protocol. No driver.
        .target(
            name: "SwitchyardAccounts",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The storage protocol on SQL (SQLite now, PostgreSQL later) through SQLKit.
        .target(
            name: "SwitchyardStoreSQL",
            dependencies: [
                "SwitchyardAccounts",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Upstream providers: the pooled NIO HTTP/1.1 client and each provider kind's request/answer mapping.
        .target(
            name: "SwitchyardProviders",
            dependencies: [
                "SwitchyardMessages", "SwitchyardEventStream", "SwitchyardConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Model id / alias -> endpoints.
        .target(
            name: "SwitchyardRouting",
            dependencies: ["SwitchyardMessages", "SwitchyardConfig", "SwitchyardAccounts"],
            swiftSettings: swiftSettings
        ),
        // The gateway: NIO data path for /v1/messages, Hummingbird for everything else, billing, services.
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardMessages", "SwitchyardEventStream", "SwitchyardConfig", "SwitchyardAccounts",
                "SwitchyardProviders", "SwitchyardRouting", "SwitchyardTranslation", "SwitchyardModeration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardServer", "SwitchyardStoreSQL", "SwitchyardConfig", "SwitchyardAccounts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Release-mode micro-benchmarks of the SSE parser, validation and translation (issue 6).
        .executableTarget(
            name: "SwitchyardMicroBench",
            dependencies: [
                "SwitchyardMessages", "SwitchyardEventStream", "SwitchyardTranslation",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SwitchyardMessagesTests", dependencies: ["SwitchyardMessages"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SwitchyardModerationTests",
            dependencies: ["SwitchyardModeration", "SwitchyardMessages"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardTranslationTests",
            dependencies: ["SwitchyardTranslation", "SwitchyardMessages"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardEventStreamTests",
            dependencies: ["SwitchyardEventStream", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SwitchyardConfigTests", dependencies: ["SwitchyardConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "SwitchyardAccountsTests", dependencies: ["SwitchyardAccounts"], swiftSettings: swiftSettings),
        .testTarget(name: "SwitchyardRoutingTests", dependencies: ["SwitchyardRouting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SwitchyardStoreSQLTests",
            dependencies: ["SwitchyardStoreSQL", "SwitchyardAccounts"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                "SwitchyardServer", "SwitchyardStoreSQL", "SwitchyardConfig", "SwitchyardAccounts",
                "SwitchyardMessages", "SwitchyardEventStream", "SwitchyardRouting", "SwitchyardProviders",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
