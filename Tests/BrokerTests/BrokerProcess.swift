import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix
import XCTest
@testable import Broker

/// A `samsa broker` child process on a free loopback port, for tests that need a real process
/// (kill -9, SIGTERM). The binary is `$SAMSA_BINARY` or `.build/debug/samsa` of this checkout,
/// which `swift build --build-tests` produces.
final class BrokerProcess: @unchecked Sendable {
    let dataDir: String
    let port: Int
    private var process: Process?
    let logPath: String

    static func binary() throws -> String {
        if let env = ProcessInfo.processInfo.environment["SAMSA_BINARY"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/samsa").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no samsa binary at \(path); run `swift build` first or set SAMSA_BINARY")
        }
        return path
    }

    init(dataDir: String) throws {
        self.dataDir = dataDir
        port = try Self.freePort()
        logPath = dataDir + ".log"
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func start(extra: [String] = []) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.binary())
        p.arguments = ["broker", "--override", "log.dirs=\(dataDir)",
                       "--override", "listeners=PLAINTEXT://127.0.0.1:\(port)",
                       "--override", "offsets.topic.num.partitions=3",
                       "--override", "group.initial.rebalance.delay.ms=0"] + extra
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        // Ready when a connection succeeds.
        for _ in 0..<200 {
            if let c = try? await TestConnection.connect(port: port) { try? await c.close(); return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CloseConnection("broker did not start; log: \(logPath)")
    }

    func kill9() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// SIGTERM and wait; returns the exit status.
    func terminate() -> Int32 {
        guard let p = process else { return -1 }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    deinit { kill9() }
}

/// A minimal Kafka connection for tests: one request at a time, typed by the generated codec.
final class TestConnection: @unchecked Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var correlation: Int32 = 0

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) throws {
        self.channel = channel
        iterator = channel.inbound.makeAsyncIterator()
        writer = channel.outbound
    }

    static func connect(port: Int) async throws -> TestConnection {
        let ch = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 64 << 20)))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try TestConnection(channel: ch)
    }

    func send<R: KafkaRequest>(_ request: R, version: Int16) async throws -> R.Response {
        correlation += 1
        try await writer.write(try request.encodeFrame(version: version, correlationId: correlation, clientId: "restart-test"))
        guard var frame = try await iterator.next() else { throw CloseConnection("connection closed") }
        let (header, body) = try R.Response.decode(from: &frame, version: version)
        guard header.correlationId == correlation else { throw CloseConnection("correlation mismatch") }
        return body
    }

    func close() async throws {
        writer.finish()
        try await channel.channel.close()
    }

    // NIOAsyncChannel requires its writer to be finished before it goes away.
    deinit { writer.finish() }
}
