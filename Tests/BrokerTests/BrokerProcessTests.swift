import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix
import XCTest
@testable import Broker

/// Bad input against the real broker process: each offender gets a closed connection, and the
/// broker keeps serving everyone else with nothing lost.
final class BrokerProcessTests: XCTestCase {
    func testBadInputAndThousandIdleConnectionsDoNotDisturbOthers() async throws {
        let dir = "/tmp/samsa-broker-bad-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? runRemove(dir) }
        let broker = try BrokerProcess(dataDir: dir)
        try await broker.start(extra: ["--override", "socket.request.max.bytes=65536", "--override", "message.max.bytes=2000"])
        defer { _ = broker.terminate() }
        let good = try await TestConnection.connect(port: broker.port)
        var create = CreateTopicsRequest()
        create.topics = [.init(name: "safe", numPartitions: 1, replicationFactor: 1)]
        _ = try await good.send(create, version: 5)

        // 1,000 clients that connect and send nothing.
        var idle: [Channel] = []
        for _ in 0..<1000 {
            idle.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: broker.port).get())
        }

        // Offenders, each on its own connection; every one must be closed by the broker.
        func offend(_ bytes: [UInt8]) async throws -> Bool {
            let ch = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: broker.port).get()
            var b = ByteBuffer(); b.writeBytes(bytes)
            try await ch.writeAndFlush(b)
            for _ in 0..<100 where ch.isActive { try await Task.sleep(for: .milliseconds(20)) }
            let closed = !ch.isActive
            try? await ch.close()
            return closed
        }
        var oversized: [UInt8] = [0x00, 0x10, 0x00, 0x00]  // 1 MiB frame, limit is 64 KiB
        oversized += [UInt8](repeating: 0, count: 100)
        let closedOversized = try await offend(oversized)
        XCTAssertTrue(closedOversized, "frame over socket.request.max.bytes")
        let closedGarbage = try await offend([0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef])
        XCTAssertTrue(closedGarbage, "garbage frame")
        let closedUnknown = try await offend([0, 0, 0, 10, 0x27, 0x0f, 0, 0, 0, 0, 0, 1, 0xff, 0xff])
        XCTAssertTrue(closedUnknown, "unknown api key 9999")
        let closedVersion = try await offend([0, 0, 0, 10, 0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff])
        XCTAssertTrue(closedVersion, "Metadata v99")
        let closedTruncated = try await offend([0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 1, 0, 200, 0x61, 0x62])
        XCTAssertTrue(closedTruncated, "header claiming a longer client id than the frame holds")

        // Well-formed but wrong requests get Kafka's error codes.
        func produce(_ topic: String, _ partition: Int32, _ value: String) async throws -> Int16? {
            var req = ProduceRequest()
            req.acks = -1
            req.timeoutMs = 1000
            req.topicData = [.init(name: topic, partitionData: [.init(index: partition, records: try BrokerHarness.batch([value]))])]
            return try await good.send(req, version: 9).responses.first?.partitionResponses.first?.errorCode
        }
        let missing = try await produce("safe", 7, "x")
        XCTAssertEqual(missing, ErrorCode.unknownTopicOrPartition.rawValue)
        let tooLarge = try await produce("safe", 0, String(repeating: "x", count: 5000))
        XCTAssertEqual(tooLarge, ErrorCode.messageTooLarge.rawValue)
        var badName = CreateTopicsRequest()
        badName.topics = [.init(name: "no spaces allowed", numPartitions: 1, replicationFactor: 1)]
        let nameError = try await good.send(badName, version: 5).topics.first?.errorCode
        XCTAssertEqual(nameError, ErrorCode.invalidTopicException.rawValue)

        // The well-behaved client still produces and reads back, with the idle crowd connected.
        for i in 0..<20 {
            let code = try await produce("safe", 0, "ok-\(i)")
            XCTAssertEqual(code, 0)
        }
        var fetch = FetchRequest()
        fetch.maxBytes = 1 << 20
        fetch.topics = [.init(topic: "safe", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
        let records = try await good.send(fetch, version: 12).responses.first?.partitions.first?.records
        XCTAssertEqual(try BrokerHarness.values(records).map(\.1), (0..<20).map { "ok-\($0)" })
        for ch in idle { try? await ch.close() }
        let log = (try? String(contentsOfFile: broker.logPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("Closing connection"), "each bad connection is logged")
    }
}
