import KafkaProtocol
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import XCTest
@testable import Broker

/// Echoes each frame back as a response frame after a delay the frame itself chooses, so a
/// test can make early requests slow and check responses still leave in request order.
struct EchoDispatcher: RequestDispatcher {
    func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
        var f = frame
        guard let delayMs = f.readInteger(as: UInt8.self) else { return .close(reason: "empty frame") }
        if delayMs == 255 { return .close(reason: "asked to close") }
        if delayMs == 254 { return .noResponse }
        try? await Task.sleep(for: .milliseconds(Int(delayMs)))
        var out = ByteBuffer()
        out.writeInteger(Int32(frame.readableBytes))
        out.writeImmutableBuffer(frame)
        return .respond(out)
    }
}

final class KafkaFrameDecoderTests: XCTestCase {
    func testSplitsFramesFedByteByByte() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 100)))
        var wire = ByteBuffer()
        for payload in ["a", "", "hello"] {
            wire.writeInteger(Int32(payload.utf8.count)); wire.writeString(payload)
        }
        while let byte = wire.readSlice(length: 1) { try channel.writeInbound(byte) }
        var frames: [String] = []
        while let f = try channel.readInbound(as: ByteBuffer.self) { frames.append(String(buffer: f)) }
        XCTAssertEqual(frames, ["a", "", "hello"])
        _ = try channel.finish()
    }

    func testRejectsOversizedFrameFromItsPrefixAlone() {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 100)))
        var wire = ByteBuffer()
        wire.writeInteger(Int32(101))
        XCTAssertThrowsError(try channel.writeInbound(wire)) { error in
            XCTAssertEqual(error as? ProtocolError, .frameTooLarge(size: 101, maximum: 100))
        }
    }

    func testRejectsNegativeSize() {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 100)))
        var wire = ByteBuffer()
        wire.writeInteger(Int32(-5))
        XCTAssertThrowsError(try channel.writeInbound(wire)) { error in
            XCTAssertEqual(error as? ProtocolError, .frameTooLarge(size: -5, maximum: 100))
        }
    }
}

/// Runs a `KafkaServer` on 127.0.0.1 (a free port) with `dispatcher` for the duration of `body`,
/// then shuts it and its event loops down, also when `body` throws.
func withKafkaServer(_ configuration: KafkaServer.Configuration, dispatcher: any RequestDispatcher, threads: Int = 2,
                     _ body: (Int, KafkaServer) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let server = KafkaServer(configuration: configuration, dispatcher: dispatcher, group: group, logger: Logger(label: "test"))
    let address = try await server.bind()
    let runTask = Task { try await server.run() }
    do {
        try await body(address.port!, server)
    } catch {
        await server.shutdown(); _ = try? await runTask.value; try? await group.shutdownGracefully()
        throw error
    }
    await server.shutdown()
    _ = try? await runTask.value
    try await group.shutdownGracefully()
}

final class KafkaServerTests: XCTestCase {
    private func withServer(maxFrameBytes: Int = 1024, idleMs: Int64 = 600_000,
                            _ body: (Int, KafkaServer) async throws -> Void) async throws {
        try await withKafkaServer(.init(host: "127.0.0.1", port: 0, maxFrameBytes: maxFrameBytes, idleTimeoutMs: idleMs),
                                  dispatcher: EchoDispatcher(), body)
    }

    private func connect(_ port: Int, group: EventLoopGroup) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 1 << 20)))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    }

    private func frame(delay: UInt8, tag: UInt32) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int32(5)); b.writeInteger(delay); b.writeInteger(tag)
        return b
    }

    func testPipelinedResponsesComeBackInRequestOrder() async throws {
        let clientGroup = MultiThreadedEventLoopGroup.singleton
        try await withServer { port, _ in
            let client = try await connect(port, group: clientGroup)
            try await client.executeThenClose { inbound, outbound in
                // Early requests are the slow ones: a broker answering concurrently would reorder them.
                let delays: [UInt8] = [60, 40, 20, 0, 30, 254, 0, 10]
                for (i, d) in delays.enumerated() { try await outbound.write(frame(delay: d, tag: UInt32(i))) }
                var tags: [UInt32] = []
                for try await var response in inbound {
                    _ = response.readInteger(as: UInt8.self)
                    tags.append(response.readInteger(as: UInt32.self)!)
                    if tags.count == delays.count - 1 { break }
                }
                XCTAssertEqual(tags, [0, 1, 2, 3, 4, 6, 7], "in order, and nothing for the no-response request")
            }
        }
    }

    func testOversizedFrameClosesOnlyThatConnection() async throws {
        let clientGroup = MultiThreadedEventLoopGroup.singleton
        try await withServer(maxFrameBytes: 64) { port, server in
            let good = try await connect(port, group: clientGroup)
            let bad = try await connect(port, group: clientGroup)
            try await bad.executeThenClose { inbound, outbound in
                var huge = ByteBuffer()
                huge.writeInteger(Int32(1_000_000)); huge.writeRepeatingByte(0, count: 100)
                try await outbound.write(huge)
                var count = 0
                for try await _ in inbound { count += 1 }
                XCTAssertEqual(count, 0, "the server closed the connection without answering")
            }
            try await good.executeThenClose { inbound, outbound in
                try await outbound.write(frame(delay: 0, tag: 99))
                var it = inbound.makeAsyncIterator()
                var r = try XCTUnwrapAsync(try await it.next())
                _ = r.readInteger(as: UInt8.self)
                XCTAssertEqual(r.readInteger(as: UInt32.self), 99)
            }
            _ = server
        }
    }

    func testDispatcherCloseAndIdleTimeoutCloseConnections() async throws {
        let clientGroup = MultiThreadedEventLoopGroup.singleton
        try await withServer(idleMs: 200) { port, server in
            let closer = try await connect(port, group: clientGroup)
            try await closer.executeThenClose { inbound, outbound in
                try await outbound.write(frame(delay: 255, tag: 1))
                for try await _ in inbound { XCTFail("no response expected") }
            }
            let idle = try await connect(port, group: clientGroup)
            let start = ContinuousClock.now
            try await idle.executeThenClose { inbound, _ in
                for try await _ in inbound { XCTFail("no response expected") }
            }
            XCTAssertGreaterThan(ContinuousClock.now - start, .milliseconds(150), "closed by the idle timer")
            try await Task.sleep(for: .milliseconds(50))
            XCTAssertEqual(server.connectionCount, 0)
        }
    }

    func testManyIdleConnectionsDoNotStopService() async throws {
        let clientGroup = MultiThreadedEventLoopGroup.singleton
        try await withServer { port, server in
            var idle: [NIOAsyncChannel<ByteBuffer, ByteBuffer>] = []
            for _ in 0..<300 { idle.append(try await connect(port, group: clientGroup)) }
            let active = try await connect(port, group: clientGroup)
            try await active.executeThenClose { inbound, outbound in
                try await outbound.write(frame(delay: 0, tag: 7))
                var it = inbound.makeAsyncIterator()
                var r = try XCTUnwrapAsync(try await it.next())
                _ = r.readInteger(as: UInt8.self)
                XCTAssertEqual(r.readInteger(as: UInt32.self), 7)
            }
            XCTAssertGreaterThanOrEqual(server.connectionCount, 300)
            for c in idle { try? await c.channel.close() }
        }
    }
}

func XCTUnwrapAsync<T>(_ value: T?, file: StaticString = #filePath, line: UInt = #line) throws -> T {
    try XCTUnwrap(value, file: file, line: line)
}
