// swift-tools-version:6.0
// Samsa: a Kafka-compatible broker, client, and operations console in Swift.
// Module layering (each depends only on those above it):
//   C shims -> KafkaProtocol -> LogStorage -> Quorum -> Broker
//                            -> KafkaClient -> ClusterManager -> TerminalUI -> SamsaLogging -> Console -> SamsaCLI -> samsa
import PackageDescription

let package = Package(
    name: "samsa",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "samsa", targets: ["samsa"]),
        .executable(name: "samsa-protocol-generator", targets: ["ProtocolGenerator"]),
        .executable(name: "samsa-log-crashtest", targets: ["LogCrashTest"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // X.509 certificates made in-process: `samsa demo --secure`'s throw-away CA (LocalPKI).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.1.0"),
    ],
    targets: [
        // MARK: C shims
        .target(name: "CCRC32C", cSettings: [.unsafeFlags(["-O3"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CNcursesw", providers: [.apt(["libncurses-dev"])]),

        // MARK: Protocol (pure: no I/O)
        .target(
            name: "KafkaProtocol",
            dependencies: [
                "CCRC32C", "CZlib", "CLZ4", "CSnappy", "CZstd",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "ProtocolGenerator"),

        // MARK: Storage, broker
        .target(
            name: "LogStorage",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // KRaft controller quorum: the Raft replica as a pure state machine over __cluster_metadata.
        .target(
            name: "Quorum",
            dependencies: [
                "KafkaProtocol", "LogStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The child process of LogStorageTests' kill -9 test.
        .executableTarget(name: "LogCrashTest", dependencies: ["LogStorage", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "Broker",
            dependencies: [
                "KafkaProtocol", "LogStorage", "Quorum", "KafkaClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The subject of a TLS client certificate, for its principal (CertificatePrincipal).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),

        // MARK: Client, local clusters, console
        .target(
            name: "KafkaClient",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ClusterManager",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                // LocalPKI: the demo's throw-away CA and broker certificate (P-256).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "TerminalUI", dependencies: ["CNcursesw"]),
        // swift-log handler writing lines to a file (reopened on SIGHUP) or stderr: console and broker.
        .target(
            name: "SamsaLogging",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Console",
            dependencies: [
                "KafkaProtocol", "KafkaClient", "ClusterManager", "TerminalUI", "SamsaLogging",
                .product(name: "Logging", package: "swift-log"),
                // The clusters file (`--clusters`): real TOML, not the themes' subset.
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // MARK: Command line
        .target(
            name: "SamsaCLI",
            dependencies: [
                "KafkaProtocol", "LogStorage", "Broker", "KafkaClient", "ClusterManager", "Console", "SamsaLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "samsa", dependencies: ["SamsaCLI"]),

        // MARK: Tests
        .testTarget(name: "KafkaProtocolTests", dependencies: ["KafkaProtocol"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LogStorageTests", dependencies: ["LogStorage", "KafkaProtocol"]),
        .testTarget(name: "QuorumTests", dependencies: ["Quorum", "Broker", "LogStorage", "KafkaProtocol",
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "KafkaProtocol", "LogStorage", "ClusterManager",
                                                        // SslPrincipalTests: certificates and names made in-process.
                                                        .product(name: "X509", package: "swift-certificates"),
                                                        .product(name: "SwiftASN1", package: "swift-asn1"),
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOEmbedded", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "KafkaClientTests", dependencies: ["KafkaClient", "KafkaProtocol",
                                                              .product(name: "NIOCore", package: "swift-nio"),
                                                              .product(name: "NIOPosix", package: "swift-nio"),
                                                              .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "ClusterManagerTests", dependencies: ["ClusterManager",
                                                                .product(name: "X509", package: "swift-certificates"),
                                                                .product(name: "NIOCore", package: "swift-nio"),
                                                                .product(name: "NIOPosix", package: "swift-nio"),
                                                                .product(name: "NIOTLS", package: "swift-nio"),
                                                                .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "TerminalUI", "KafkaClient"]),
        .testTarget(name: "SamsaLoggingTests", dependencies: ["SamsaLogging", .product(name: "Logging", package: "swift-log")]),
    ]
)
