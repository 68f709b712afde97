import NIOCore
import NIOPosix
import NIOSSL
import KafkaProtocol
import XCTest
@testable import KafkaClient

/// A scripted in-process broker: each request frame is handed to `respond`, whose bytes (if
/// any) are written back as one response frame. Lets the connection layer be tested against
/// misbehaving brokers without a real one.
final class FakeBroker: @unchecked Sendable {
    typealias Respond = @Sendable (_ apiKey: Int16, _ version: Int16, _ correlationId: Int32) -> ByteBuffer?
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    /// - Parameter tls: when set, the broker speaks TLS (a NIOSSLServerHandler in front of the
    ///   Kafka framing), as a broker's SSL listener does.
    init(tls: NIOSSLContext? = nil, respond: @escaping Respond) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 1 << 20)))
                    try child.pipeline.syncOperations.addHandler(Handler(respond: respond))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let respond: Respond
        init(respond: @escaping Respond) { self.respond = respond }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var frame = unwrapInboundIn(data)
            guard let key: Int16 = frame.readInteger(), let version: Int16 = frame.readInteger(),
                  let correlation: Int32 = frame.readInteger() else { return }
            guard var body = respond(key, version, correlation) else { return }
            var out = context.channel.allocator.buffer(capacity: body.readableBytes + 4)
            out.writeInteger(Int32(body.readableBytes))
            out.writeBuffer(&body)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }

    /// An ApiVersions v0 response body (header v0) advertising `apis`.
    static func apiVersionsV0(correlationId: Int32, error: Int16 = 0, apis: [(Int16, Int16, Int16)]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(correlationId)
        b.writeInteger(error)
        b.writeInteger(Int32(apis.count))
        for (k, lo, hi) in apis { b.writeInteger(k); b.writeInteger(lo); b.writeInteger(hi) }
        return b
    }
}

final class FakeBrokerConnectionTests: XCTestCase {
    private func config(_ port: Int, timeoutMs: Int = 30000) throws -> ClientConfig {
        try ClientConfig(properties: ["bootstrap.servers": "127.0.0.1:\(port)", "request.timeout.ms": String(timeoutMs)])
    }

    /// KIP-511: a broker that does not know ApiVersions v3 answers UNSUPPORTED_VERSION with a
    /// v0 body; the client must retry at v0 and use that table.
    func testApiVersionsFallsBackToV0() async throws {
        let seen = Locked<[Int16]>([])
        let broker = try await FakeBroker { key, version, correlation in
            guard key == 18 else { return nil }
            seen.withLock { $0.append(version) }
            if version > 0 { return FakeBroker.apiVersionsV0(correlationId: correlation, error: 35, apis: [(18, 0, 0)]) }
            return FakeBroker.apiVersionsV0(correlationId: correlation, apis: [(18, 0, 0), (3, 0, 5)])
        }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: broker.port), nodeId: -1,
                                                            config: try config(broker.port))
        XCTAssertEqual(seen.withLock { $0 }, [3, 0])
        XCTAssertEqual(connection.brokerVersions(for: 3), 0...5)
        XCTAssertEqual(connection.version(for: 3, supported: 1...12), 5)
        XCTAssertNil(connection.version(for: 0, supported: 3...10), "Produce was not advertised")
        connection.close()
        await broker.close()
    }

    /// A broker that stops answering: the request fails with a timeout (not a hang), and the
    /// connection is closed because later responses could no longer be matched.
    func testRequestTimeoutFailsAndClosesTheConnection() async throws {
        let broker = try await FakeBroker { key, _, correlation in
            key == 18 ? FakeBroker.apiVersionsV0(correlationId: correlation, apis: [(18, 0, 0), (3, 0, 12)]) : nil
        }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: broker.port), nodeId: -1,
                                                            config: try config(broker.port, timeoutMs: 300))
        let start = ContinuousClock.now
        do {
            _ = try await connection.sendRaw(apiKey: 3, apiVersion: 1, requestHeaderVersion: 1, responseHeaderVersion: 0, body: ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff]))
            XCTFail("no response expected")
        } catch let error as KafkaClientError {
            guard case .timedOut = error else { return XCTFail("unexpected \(error)") }
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertFalse(connection.isActive)
        await broker.close()
    }

    /// A response whose correlation id is not the oldest pending request's is a protocol
    /// violation: the request fails and the connection closes.
    func testCorrelationMismatchIsAProtocolViolation() async throws {
        let broker = try await FakeBroker { key, _, correlation in
            if key == 18 { return FakeBroker.apiVersionsV0(correlationId: correlation, apis: [(18, 0, 0), (3, 0, 12)]) }
            var b = ByteBuffer()
            b.writeInteger(correlation &+ 1000)
            return b
        }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: broker.port), nodeId: -1,
                                                            config: try config(broker.port))
        do {
            _ = try await connection.sendRaw(apiKey: 3, apiVersion: 1, requestHeaderVersion: 1, responseHeaderVersion: 0, body: ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff]))
            XCTFail("mismatched response accepted")
        } catch let error as KafkaClientError {
            guard case .protocolViolation = error else { return XCTFail("unexpected \(error)") }
        }
        await broker.close()
    }

    /// Pipelining: several requests in flight on one connection, each answered in order.
    func testPipelinedRequestsGetTheirOwnResponses() async throws {
        let broker = try await FakeBroker { key, _, correlation in
            if key == 18 { return FakeBroker.apiVersionsV0(correlationId: correlation, apis: [(18, 0, 0), (3, 0, 12)]) }
            var b = ByteBuffer()
            b.writeInteger(correlation)
            b.writeInteger(correlation)  // echo the id in the body
            return b
        }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: broker.port), nodeId: -1,
                                                            config: try config(broker.port))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    var body = try await connection.sendRaw(apiKey: 3, apiVersion: 1, requestHeaderVersion: 1, responseHeaderVersion: 0,
                                                            body: ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff]))
                    XCTAssertNotNil(body.readInteger(as: Int32.self))
                }
            }
            try await group.waitForAll()
        }
        connection.close()
        await broker.close()
    }
}

final class ConnectionPoolTests: XCTestCase {
    /// After a failed attempt the next one to the same broker waits `reconnect.backoff.ms`
    /// (±20% jitter), so a down broker is not hammered.
    func testReconnectBacksOff() async throws {
        let config = try ClientConfig(properties: ["bootstrap.servers": "127.0.0.1:1", "reconnect.backoff.ms": "250",
                                                   "reconnect.backoff.max.ms": "1000"])
        let pool = ConnectionPool(config: config, group: MultiThreadedEventLoopGroup.singleton)
        let address = BrokerAddress(host: "127.0.0.1", port: 1)
        let first = ContinuousClock.now
        _ = try? await pool.connection(to: address, nodeId: -1)
        XCTAssertLessThan(ContinuousClock.now - first, .milliseconds(200), "first attempt should not wait")
        let backingOff = await pool.isBackingOff(address)
        XCTAssertTrue(backingOff)
        let second = ContinuousClock.now
        _ = try? await pool.connection(to: address, nodeId: -1)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - second, .milliseconds(190))
        await pool.closeAll()
        do {
            _ = try await pool.connection(to: address, nodeId: -1)
            XCTFail("a closed pool must refuse")
        } catch let error as KafkaClientError {
            XCTAssertEqual(error, .closed)
        }
    }
}
