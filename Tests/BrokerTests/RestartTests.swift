import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// kill -9 in the middle of a produce stream: every acknowledged record must be readable at
/// its acknowledged offset after a restart, committed offsets must be back, and the
/// idempotent producer must continue (retrying its unacknowledged batch) without duplicates.
final class RestartTests: XCTestCase {
    func testKillNineMidStreamLosesNothingAcknowledged() async throws {
        let dir = "/tmp/samsa-broker-restart-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? runRemove(dir) }
        let broker = try BrokerProcess(dataDir: dir)
        try await broker.start()
        var conn = try await TestConnection.connect(port: broker.port)

        var create = CreateTopicsRequest()
        create.topics = [.init(name: "stream", numPartitions: 2, replicationFactor: 1)]
        let created = try await conn.send(create, version: 5).topics.first?.errorCode
        XCTAssertEqual(created, 0)
        let pid = try await conn.send(InitProducerIdRequest(transactionalId: nil), version: 4)
        XCTAssertEqual(pid.errorCode, 0)

        var acked: [Int32: [(offset: Int64, values: [String])]] = [0: [], 1: []]
        var sequence: [Int32: Int32] = [0: 0, 1: 0]
        func batch(_ partition: Int32, _ n: Int) throws -> (ByteBuffer, [String]) {
            let values = (0..<n).map { "p\(partition)-s\(sequence[partition]! + Int32($0))" }
            return (try BrokerHarness.batch(values, producerId: pid.producerId, epoch: pid.producerEpoch,
                                            sequence: sequence[partition]!), values)
        }
        func produce(_ c: TestConnection, _ partition: Int32, _ records: ByteBuffer, acks: Int16) async throws -> ProduceResponse.PartitionProduceResponse? {
            var req = ProduceRequest()
            req.acks = acks
            req.timeoutMs = 5000
            req.topicData = [.init(name: "stream", partitionData: [.init(index: partition, records: records)])]
            return try await c.send(req, version: 9).responses.first?.partitionResponses.first
        }

        // A committed offset that must come back.
        var commit = OffsetCommitRequest()
        commit.groupId = "restart-group"
        commit.topics = [.init(name: "stream", partitions: [.init(partitionIndex: 0, committedOffset: 42, committedMetadata: "m")])]
        let commitError = try await conn.send(commit, version: 2).topics.first?.partitions.first?.errorCode
        XCTAssertEqual(commitError, 0)

        // Stream with alternating acks=all and acks=1 until a concurrent kill -9 interrupts it.
        let killer = Task {
            try await Task.sleep(for: .milliseconds(400))
            broker.kill9()
        }
        var pending: (partition: Int32, bytes: ByteBuffer, values: [String])?
        var i = 0
        while true {
            let partition = Int32(i % 2)
            let (bytes, values) = try batch(partition, 1 + i % 5)
            pending = (partition, bytes, values)
            guard let r = try? await produce(conn, partition, bytes, acks: i % 2 == 0 ? -1 : 1) else { break }
            XCTAssertEqual(r.errorCode, 0)
            acked[partition]!.append((r.baseOffset, values))
            sequence[partition]! += Int32(values.count)
            pending = nil
            i += 1
        }
        _ = try await killer.value
        XCTAssertGreaterThan(i, 10, "the stream was running when the broker died")

        try await broker.start()
        conn = try await TestConnection.connect(port: broker.port)
        // Retry the batch that was in flight: either it landed (duplicate -> same offset) or not.
        if let pending {
            let r = try XCTUnwrapAsync(try await produce(conn, pending.partition, pending.bytes, acks: -1))
            XCTAssertEqual(r.errorCode, 0, "the retried batch is accepted, not out of order")
            acked[pending.partition]!.append((r.baseOffset, pending.values))
            sequence[pending.partition]! += Int32(pending.values.count)
        }
        // The producer continues with its next sequence numbers.
        for partition in [Int32(0), 1] {
            let (bytes, values) = try batch(partition, 2)
            let r = try XCTUnwrapAsync(try await produce(conn, partition, bytes, acks: -1))
            XCTAssertEqual(r.errorCode, 0)
            acked[partition]!.append((r.baseOffset, values))
        }

        for partition in [Int32(0), 1] {
            var read: [(Int64, String)] = []
            var offset: Int64 = 0
            while true {
                var req = FetchRequest()
                req.maxBytes = 1 << 20
                req.topics = [.init(topic: "stream", partitions: [.init(partition: partition, fetchOffset: offset, partitionMaxBytes: 1 << 20)])]
                let p = try XCTUnwrapAsync(try await conn.send(req, version: 12).responses.first?.partitions.first)
                XCTAssertEqual(p.errorCode, 0)
                let got = try BrokerHarness.values(p.records).filter { $0.0 >= offset }
                if got.isEmpty { break }
                read += got
                offset = got.last!.0 + 1
            }
            let byOffset = Dictionary(read.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
            for a in acked[partition]! {
                for (k, v) in a.values.enumerated() {
                    XCTAssertEqual(byOffset[a.offset + Int64(k)], v, "acknowledged record lost or moved")
                }
            }
            XCTAssertEqual(Set(read.map(\.1)).count, read.count, "no record was written twice")
        }

        var fetch = OffsetFetchRequest()
        fetch.groupId = "restart-group"
        fetch.topics = [.init(name: "stream", partitionIndexes: [0])]
        let committed = try await conn.send(fetch, version: 3).topics.first?.partitions.first
        XCTAssertEqual(committed?.committedOffset, 42, "the committed offset survived kill -9")
        XCTAssertEqual(broker.terminate(), 0, "SIGTERM shuts down cleanly")
    }
}

/// DeleteRecords moves the log start offset; Kafka keeps it in `log-start-offset-checkpoint`
/// so a restart (even after kill -9) must not bring the deleted records back.
final class LogStartOffsetRestartTests: XCTestCase {
    func testDeleteRecordsStartOffsetSurvivesKillNine() async throws {
        let dir = "/tmp/samsa-broker-lso-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? runRemove(dir) }
        let broker = try BrokerProcess(dataDir: dir)
        try await broker.start()
        let conn = try await TestConnection.connect(port: broker.port)
        var create = CreateTopicsRequest()
        create.topics = [.init(name: "trimmed", numPartitions: 1, replicationFactor: 1)]
        let created = try await conn.send(create, version: 5).topics.first?.errorCode
        XCTAssertEqual(created, 0)
        for i in 0..<5 {
            var req = ProduceRequest()
            req.acks = -1
            req.timeoutMs = 5000
            req.topicData = [.init(name: "trimmed", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["v\(i)"]))])]
            let code = try await conn.send(req, version: 9).responses.first?.partitionResponses.first?.errorCode
            XCTAssertEqual(code, 0)
        }
        var delete = DeleteRecordsRequest()
        delete.timeoutMs = 5000
        delete.topics = [.init(name: "trimmed", partitions: [.init(partitionIndex: 0, offset: 3)])]
        let low = try await conn.send(delete, version: 2).topics.first?.partitions.first
        XCTAssertEqual(low?.errorCode, 0)
        XCTAssertEqual(low?.lowWatermark, 3)
        try await conn.close()

        func earliest() async throws -> Int64? {
            var list = ListOffsetsRequest()
            list.replicaId = -1
            list.topics = [.init(name: "trimmed", partitions: [.init(partitionIndex: 0, timestamp: -2)])]
            let c = try await TestConnection.connect(port: broker.port)
            let p = try await c.send(list, version: 7).topics.first?.partitions.first
            try await c.close()
            XCTAssertEqual(p?.errorCode, 0)
            return p?.offset
        }
        let before = try await earliest()
        XCTAssertEqual(before, 3)
        broker.kill9()
        try await broker.start()
        let after = try await earliest()
        XCTAssertEqual(after, 3, "the log start offset came back from log-start-offset-checkpoint")
        _ = broker.terminate()
    }
}

/// server.properties' `offset.metadata.max.bytes` reaches the group coordinator of a real
/// broker process (the default, 4096, would accept both commits below).
final class OffsetMetadataLimitTests: XCTestCase {
    func testOffsetMetadataMaxBytesFromServerProperties() async throws {
        let dir = "/tmp/samsa-broker-omd-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? runRemove(dir) }
        let broker = try BrokerProcess(dataDir: dir)
        try await broker.start(extra: ["--override", "offset.metadata.max.bytes=8"])
        let conn = try await TestConnection.connect(port: broker.port)
        var create = CreateTopicsRequest()
        create.topics = [.init(name: "meta", numPartitions: 1, replicationFactor: 1)]
        let created = try await conn.send(create, version: 5).topics.first?.errorCode
        XCTAssertEqual(created, 0)
        for (metadata, expected) in [("12345678", ErrorCode(rawValue: 0)), ("123456789", .offsetMetadataTooLarge)] {
            var commit = OffsetCommitRequest()
            commit.groupId = "meta-group"
            commit.topics = [.init(name: "meta", partitions: [.init(partitionIndex: 0, committedOffset: 1, committedMetadata: metadata)])]
            let code = try await conn.send(commit, version: 2).topics.first?.partitions.first?.errorCode
            XCTAssertEqual(code, expected.rawValue, "metadata of \(metadata.utf8.count) bytes")
        }
        try await conn.close()
        _ = broker.terminate()
    }
}
