import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

final class ProduceFetchTests: XCTestCase {
    func testProduceThenFetchEveryVersion() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        var expected: [(Int64, String)] = []
        for v in Int16(3)...10 {
            let r = try XCTUnwrapAsync(try await h.produce("t", try BrokerHarness.batch(["v\(v)a", "v\(v)b"]), version: v))
            XCTAssertEqual(r.errorCode, 0, "v\(v): \(String(describing: r.errorMessage))")
            XCTAssertEqual(r.baseOffset, Int64(expected.count))
            expected += [(Int64(expected.count), "v\(v)a"), (Int64(expected.count + 1), "v\(v)b")]
        }
        for v in FetchHandler.versions {
            let p = try XCTUnwrapAsync(try await h.fetch("t", offset: 0, version: v))
            XCTAssertEqual(p.errorCode, 0)
            XCTAssertEqual(p.highWatermark, Int64(expected.count))
            let got = try BrokerHarness.values(p.records)
            XCTAssertEqual(got.map(\.0), expected.map(\.0), "v\(v)")
            XCTAssertEqual(got.map(\.1), expected.map(\.1), "v\(v)")
        }
        // Fetch from the middle of a batch returns that whole batch (consumers skip the head).
        let mid = try XCTUnwrapAsync(try await h.fetch("t", offset: 3))
        XCTAssertEqual(try BrokerHarness.values(mid.records).first?.0, 2)
    }

    func testCompressedBatchesRoundTrip() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("z")
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let r = try await h.produce("z", try BrokerHarness.batch(["\(codec)-1", "\(codec)-2"], compression: codec), version: 9)
            XCTAssertEqual(r?.errorCode, 0, "\(codec)")
        }
        let p = try XCTUnwrapAsync(try await h.fetch("z", offset: 0))
        XCTAssertEqual(try BrokerHarness.values(p.records).map(\.1),
                       ["gzip-1", "gzip-2", "snappy-1", "snappy-2", "lz4-1", "lz4-2", "zstd-1", "zstd-2"].map {
                           $0.replacingOccurrences(of: "gzip", with: "\(CompressionCodec.gzip)")
                               .replacingOccurrences(of: "snappy", with: "\(CompressionCodec.snappy)")
                               .replacingOccurrences(of: "lz4", with: "\(CompressionCodec.lz4)")
                               .replacingOccurrences(of: "zstd", with: "\(CompressionCodec.zstd)")
                       })
        let old = try await h.produce("z", try BrokerHarness.batch(["x"], compression: .zstd), version: 6)
        XCTAssertEqual(old?.errorCode, ErrorCode.unsupportedCompressionType.rawValue)
    }

    func testProduceValidation() async throws {
        let h = try BrokerHarness(properties: "message.max.bytes=2000")
        defer { h.cleanup() }
        try h.createTopic("t")
        let missing = try await h.produce("t", partition: 5, try BrokerHarness.batch(["x"]))
        XCTAssertEqual(missing?.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
        let noTopic = try await h.produce("nope", try BrokerHarness.batch(["x"]))
        XCTAssertEqual(noTopic?.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
        let big = try await h.produce("t", try BrokerHarness.batch([String(repeating: "x", count: 3000)]))
        XCTAssertEqual(big?.errorCode, ErrorCode.messageTooLarge.rawValue)
        var two = try BrokerHarness.batch(["a"])
        var second = try BrokerHarness.batch(["b"])
        two.writeBuffer(&second)
        let twoBatches = try await h.produce("t", two)
        XCTAssertEqual(twoBatches?.errorCode, ErrorCode.invalidRecord.rawValue)
        var corrupt = try BrokerHarness.batch(["crc"])
        corrupt.setInteger(UInt8(0x55), at: corrupt.writerIndex - 1)
        let crc = try await h.produce("t", corrupt)
        XCTAssertEqual(crc?.errorCode, ErrorCode.corruptMessage.rawValue)
        _ = try await ConsumerOffsetsLogStore(services: h.services)
        let internalWrite = try await h.produce("__consumer_offsets", try BrokerHarness.batch(["x"]))
        XCTAssertEqual(internalWrite?.errorCode, ErrorCode.invalidTopicException.rawValue)
        let empty = try await h.produce("t", nil)
        XCTAssertEqual(empty?.errorCode, ErrorCode.invalidRecord.rawValue)
        var req = ProduceRequest()
        req.acks = 2
        req.topicData = [.init(name: "t", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["a"]))])]
        let acks = try await h.send(req, version: 9)
        XCTAssertEqual(acks?.responses.first?.partitionResponses.first?.errorCode, ErrorCode.invalidRequiredAcks.rawValue)
        // Nothing above was written.
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.logEndOffset, 0)
    }

    /// acks=-1 to several partitions in one request: the fsyncs run at once after all appends
    /// (ProduceHandler.flushDeferred), and each partition must still be answered with its own
    /// offsets, be on disk (recovery point = LEO) and have its HW moved before the response.
    func testAcksAllToManyPartitionsFlushesEachBeforeAnswering() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("m", partitions: 8)
        for round in 0..<2 {
            var req = ProduceRequest()
            req.acks = -1
            req.timeoutMs = 1000
            var data: [ProduceRequest.PartitionProduceData] = []
            for i in Int32(0)..<8 {
                data.append(.init(index: i, records: try BrokerHarness.batch((0...Int(i)).map { "r\(round)-p\(i)-\($0)" })))
            }
            data.append(.init(index: 8, records: try BrokerHarness.batch(["nowhere"])))
            req.topicData = [.init(name: "m", partitionData: data)]
            let response = try XCTUnwrapAsync(try await h.send(req, version: 9))
            let parts = try XCTUnwrap(response.responses.first?.partitionResponses)
            XCTAssertEqual(parts.map(\.index), Array(0...8))
            XCTAssertEqual(parts[8].errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
            for i in 0..<8 {
                XCTAssertEqual(parts[i].errorCode, 0, "partition \(i): \(String(describing: parts[i].errorMessage))")
                XCTAssertEqual(parts[i].baseOffset, round == 0 ? 0 : Int64(i + 1), "partition \(i)")
                let replica = try XCTUnwrap(h.services.replicas.partition("m", Int32(i)))
                XCTAssertEqual(replica.log.recoveryPoint, replica.logEndOffset, "partition \(i) not fsynced")
                XCTAssertEqual(replica.highWatermark, Int64((i + 1) * (round + 1)), "partition \(i)")
            }
        }
        let p7 = try XCTUnwrapAsync(try await h.fetch("m", partition: 7, offset: 0))
        XCTAssertEqual(try BrokerHarness.values(p7.records).map(\.1),
                       (0...7).map { "r0-p7-\($0)" } + (0...7).map { "r1-p7-\($0)" })
    }

    func testMinInSyncReplicasRefusesAcksAllWhenTheIsrShrank() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "h2", port: 9092)],
                                                       rack: nil, fenced: false))
        // Explicit assignment: placement is Kafka's striped placer with a random start.
        _ = try await h.services.controller.createTopic(name: "r2", numPartitions: -1, replicationFactor: -1,
                                                  assignments: [0: [1, 2]], configs: ["min.insync.replicas": "2"])
        let topic = try XCTUnwrap(h.services.metadata.image.topics["r2"])
        var p0 = topic.partitions[0]
        XCTAssertEqual(p0.leader, 1)
        p0.isr = [1]
        p0.partitionEpoch += 1
        try h.services.metadata.commit([.partition(topicID: topic.id, p0)])
        let refused = try await h.produce("r2", try BrokerHarness.batch(["x"]), acks: -1)
        XCTAssertEqual(refused?.errorCode, ErrorCode.notEnoughReplicas.rawValue)
        XCTAssertEqual(h.services.replicas.partition("r2", 0)?.logEndOffset, 0, "nothing written")
        let acksOne = try await h.produce("r2", try BrokerHarness.batch(["y"]), acks: 1)
        XCTAssertEqual(acksOne?.errorCode, 0, "acks=1 ignores min.insync.replicas")
    }

    func testAcksZeroSendsNothingAndClosesOnError() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        let ok = try await h.produce("t", try BrokerHarness.batch(["a"]), acks: 0)
        XCTAssertNil(ok)
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.highWatermark, 1)
        do {
            _ = try await h.produce("t", partition: 9, try BrokerHarness.batch(["a"]), acks: 0)
            XCTFail("an acks=0 error must close the connection")
        } catch let e as CloseConnection {
            XCTAssertTrue(e.reason.contains("acks=0"))
        }
    }

    func testIdempotentDuplicatesGetOriginalOffsetsAndGapsAreRejected() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        let pid = try XCTUnwrapAsync(try await h.send(InitProducerIdRequest(transactionalId: nil), version: 4))
        XCTAssertEqual(pid.errorCode, 0)
        let b0 = try BrokerHarness.batch(["a", "b"], producerId: pid.producerId, epoch: pid.producerEpoch, sequence: 0)
        let b1 = try BrokerHarness.batch(["c"], producerId: pid.producerId, epoch: pid.producerEpoch, sequence: 2)
        do { let value = try await h.produce("t", b0)?.baseOffset; XCTAssertEqual(value, 0) }
        do { let value = try await h.produce("t", b1)?.baseOffset; XCTAssertEqual(value, 2) }
        let dup = try await h.produce("t", b0)
        XCTAssertEqual(dup?.errorCode, 0)
        XCTAssertEqual(dup?.baseOffset, 0, "a retried batch is answered with its original offset")
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.logEndOffset, 3, "and is not written twice")
        let gap = try BrokerHarness.batch(["d"], producerId: pid.producerId, epoch: pid.producerEpoch, sequence: 7)
        do { let value = try await h.produce("t", gap)?.errorCode; XCTAssertEqual(value, ErrorCode.outOfOrderSequenceNumber.rawValue) }
        // KIP-360 epoch bump keeps the id; the new epoch starts at sequence 0.
        let bumped = try XCTUnwrapAsync(try await h.send(InitProducerIdRequest(transactionalId: nil, producerId: pid.producerId,
                                                                          producerEpoch: pid.producerEpoch), version: 4))
        XCTAssertEqual(bumped.producerId, pid.producerId)
        XCTAssertEqual(bumped.producerEpoch, pid.producerEpoch + 1)
        let fresh = try BrokerHarness.batch(["e"], producerId: pid.producerId, epoch: bumped.producerEpoch, sequence: 0)
        do { let value = try await h.produce("t", fresh)?.baseOffset; XCTAssertEqual(value, 3) }
        let stale = try BrokerHarness.batch(["f"], producerId: pid.producerId, epoch: pid.producerEpoch, sequence: 3)
        do { let value = try await h.produce("t", stale)?.errorCode; XCTAssertEqual(value, ErrorCode.invalidProducerEpoch.rawValue) }
        let other = try XCTUnwrapAsync(try await h.send(InitProducerIdRequest(transactionalId: nil), version: 0))
        XCTAssertNotEqual(other.producerId, pid.producerId)
    }

    func testProducerStateSurvivesReopen() async throws {
        let dir = "/tmp/samsa-broker-h-\(UInt64.random(in: 0...UInt64.max))"
        let h = try BrokerHarness(dir: dir)
        try h.createTopic("t")
        let b0 = try BrokerHarness.batch(["a"], producerId: 42, epoch: 0, sequence: 0)
        do { let value = try await h.produce("t", b0)?.baseOffset; XCTAssertEqual(value, 0) }
        do { let value = try await h.produce("t", try BrokerHarness.batch(["x"]))?.baseOffset; XCTAssertEqual(value, 1) }
        try h.services.replicas.partition("t", 0)?.log.close()
        let h2 = try BrokerHarness(dir: dir)
        defer { h2.cleanup() }
        let dup = try await h2.produce("t", b0)
        XCTAssertEqual(dup?.baseOffset, 0, "a duplicate after restart still gets its original offset")
        XCTAssertEqual(h2.services.replicas.partition("t", 0)?.logEndOffset, 2)
        let next = try BrokerHarness.batch(["b"], producerId: 42, epoch: 0, sequence: 1)
        do { let value = try await h2.produce("t", next)?.baseOffset; XCTAssertEqual(value, 2) }
    }

    func testLongPollIsWokenByAppendAndTimesOut() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        let start = ContinuousClock.now
        let empty = try await h.fetch("t", offset: 0, maxWaitMs: 150, minBytes: 1)
        XCTAssertEqual(empty?.records?.readableBytes ?? 0, 0)
        XCTAssertGreaterThan(ContinuousClock.now - start, .milliseconds(100), "waited for max.wait.ms")

        let partition = try XCTUnwrap(h.services.replicas.partition("t", 0))
        let services = h.services
        let fetchTask = Task { () -> FetchResponse? in
            var req = FetchRequest()
            req.maxWaitMs = 10_000; req.minBytes = 1
            req.topics = [.init(topic: "t", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
            return try await FetchHandler(services: services).handle(req, context: .init(
                apiVersion: 12, correlationId: 1, clientId: nil, clientHost: "x", connectionId: 9, listenerName: "PLAINTEXT"))
        }
        try await Task.sleep(for: .milliseconds(100))
        let t0 = ContinuousClock.now
        _ = try partition.appendAsLeader(try BrokerHarness.batch(["wake"]),
                                         header: try RecordBatchHeader.peek(try BrokerHarness.batch(["wake"]), at: 0),
                                         requiredAcks: 1)
        let resp = try await fetchTask.value
        XCTAssertLessThan(ContinuousClock.now - t0, .seconds(2), "woken by the append, not the 10 s timeout")
        XCTAssertEqual(try BrokerHarness.values(resp?.responses.first?.partitions.first?.records).map(\.1), ["wake"])
    }

    func testFetchLimitsAndErrors() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        for i in 0..<5 {
            _ = try await h.produce("t", try BrokerHarness.batch([String(repeating: "\(i)", count: 500)]))
        }
        let one = try XCTUnwrapAsync(try await h.fetch("t", offset: 0, partitionMaxBytes: 10))
        XCTAssertEqual(try BrokerHarness.values(one.records).count, 1, "at least one whole batch even over the limit")
        let two = try XCTUnwrapAsync(try await h.fetch("t", offset: 0, partitionMaxBytes: 1300))
        XCTAssertEqual(try BrokerHarness.values(two.records).count, 2, "whole batches only")
        let out = try await h.fetch("t", offset: 99)
        XCTAssertEqual(out?.errorCode, ErrorCode.offsetOutOfRange.rawValue)
        XCTAssertEqual(out?.highWatermark, 5)
        let unknown = try await h.fetch("t", partition: 3, offset: 0)
        XCTAssertEqual(unknown?.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
    }
}

final class ListOffsetsTests: XCTestCase {
    func testEarliestLatestByTimestampAndMax() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        _ = try await h.produce("t", try BrokerHarness.batch(["a", "b"], timestamp: 1000))
        _ = try await h.produce("t", try BrokerHarness.batch(["c"], timestamp: 5000))
        _ = try await h.produce("t", try BrokerHarness.batch(["d"], timestamp: 3000))
        func list(_ ts: Int64, version: Int16 = 7) async throws -> ListOffsetsResponse.ListOffsetsPartitionResponse? {
            var req = ListOffsetsRequest()
            req.replicaId = -1
            req.topics = [.init(name: "t", partitions: [.init(partitionIndex: 0, timestamp: ts)])]
            return try await h.send(req, version: version)?.topics.first?.partitions.first
        }
        do { let value = try await list(-2)?.offset; XCTAssertEqual(value, 0) }
        do { let value = try await list(-1)?.offset; XCTAssertEqual(value, 4, "latest is the high watermark") }
        do { let value = try await list(1001)?.offset; XCTAssertEqual(value, 1) }
        do { let value = try await list(4000)?.offset; XCTAssertEqual(value, 2) }
        do { let value = try await list(9000)?.offset; XCTAssertEqual(value, -1) }
        let max = try await list(-3)
        XCTAssertEqual(max?.offset, 2)
        XCTAssertEqual(max?.timestamp, 5000)
        do { let value = try await list(-3, version: 6)?.errorCode; XCTAssertEqual(value, ErrorCode.unsupportedVersion.rawValue) }
        for v in ListOffsetsHandler.versions { let o = try await list(-1, version: v)?.offset; XCTAssertEqual(o, 4, "v\(v)") }
        do { let value = try await list(-1, version: 7)?.leaderEpoch; XCTAssertEqual(value, 0) }
    }
}

final class TopicAdminTests: XCTestCase {
    func testCreateAndDeleteTopicsAcrossVersions() async throws {
        let h = try BrokerHarness(properties: "num.partitions=2")
        defer { h.cleanup() }
        for v in CreateTopicsHandler.versions {
            var req = CreateTopicsRequest()
            req.topics = [.init(name: "c\(v)", numPartitions: v >= 4 ? -1 : 2, replicationFactor: v >= 4 ? -1 : 1,
                                configs: [.init(name: "retention.ms", value: "1000")])]
            let r = try XCTUnwrapAsync(try await h.send(req, version: v)?.topics.first)
            XCTAssertEqual(r.errorCode, 0, "v\(v) \(String(describing: r.errorMessage))")
            XCTAssertEqual(h.services.metadata.image.topics["c\(v)"]?.partitions.count, 2)
            XCTAssertEqual(h.services.metadata.image.topics["c\(v)"]?.configs["retention.ms"], "1000")
            if v >= 5 { XCTAssertEqual(r.configs?.first { $0.name == "retention.ms" }?.value, "1000") }
            if v >= 7 { XCTAssertEqual(r.topicId, h.services.metadata.image.topics["c\(v)"]?.id) }
        }
        var bad = CreateTopicsRequest()
        bad.topics = [.init(name: "c0", numPartitions: 1, replicationFactor: 1),
                      .init(name: "bad name", numPartitions: 1, replicationFactor: 1),
                      .init(name: "rf", numPartitions: 1, replicationFactor: 3),
                      .init(name: "dup", numPartitions: 1, replicationFactor: 1),
                      .init(name: "dup", numPartitions: 1, replicationFactor: 1),
                      .init(name: "cfg", numPartitions: 1, replicationFactor: 1, configs: [.init(name: "retention.ms", value: "x")])]
        let errs = try XCTUnwrapAsync(try await h.send(bad, version: 5)).topics.map(\.errorCode)
        XCTAssertEqual(errs, [ErrorCode.topicAlreadyExists, .invalidTopicException, .invalidReplicationFactor,
                              .invalidRequest, .invalidRequest, .invalidConfig].map(\.rawValue))
        var validate = CreateTopicsRequest()
        validate.validateOnly = true
        validate.topics = [.init(name: "vo", numPartitions: 1, replicationFactor: 1)]
        do { let value = try await h.send(validate, version: 4)?.topics.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertNil(h.services.metadata.image.topics["vo"])

        for v in DeleteTopicsHandler.versions {
            var del = DeleteTopicsRequest()
            if v >= 6 {
                del.topics = [.init(name: nil, topicId: h.services.metadata.image.topics["c\(v)"]!.id)]
            } else {
                del.topicNames = ["c\(v)"]
            }
            let r = try await h.send(del, version: v)?.responses.first
            XCTAssertEqual(r?.errorCode, 0, "v\(v)")
            XCTAssertNil(h.services.metadata.image.topics["c\(v)"])
            XCTAssertNil(h.services.replicas.partition("c\(v)", 0), "the partition is no longer hosted")
        }
        var missing = DeleteTopicsRequest()
        missing.topicNames = ["nope"]
        do { let value = try await h.send(missing, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, ErrorCode.unknownTopicOrPartition.rawValue) }
    }
}

final class ConsumerOffsetsStoreTests: XCTestCase {
    func testAppendThenReadAllInOrderWithTombstones() async throws {
        let h = try BrokerHarness(properties: "offsets.topic.num.partitions=4")
        defer { h.cleanup() }
        let store = try await ConsumerOffsetsLogStore(services: h.services)
        XCTAssertEqual(store.partitionCount, 4)
        let topic = try XCTUnwrap(h.services.metadata.image.topics["__consumer_offsets"])
        XCTAssertEqual(topic.configs["cleanup.policy"], "compact")
        try await store.append(partition: 2, records: [(key: ByteBuffer(string: "a"), value: ByteBuffer(string: "1")),
                                                       (key: ByteBuffer(string: "b"), value: nil)])
        try await store.append(partition: 2, records: [(key: ByteBuffer(string: "a"), value: ByteBuffer(string: "2"))])
        let all = try await store.readAll(partition: 2)
        XCTAssertEqual(all.map { String(buffer: $0.key) }, ["a", "b", "a"])
        XCTAssertEqual(all.map { $0.value.map { String(buffer: $0) } }, ["1", nil, "2"])
        let empty = try await store.readAll(partition: 0)
        XCTAssertTrue(empty.isEmpty)
        // A second store over the existing topic keeps its partition count even if the config changes.
        let again = try await ConsumerOffsetsLogStore(services: h.services)
        XCTAssertEqual(again.partitionCount, 4)
    }
}
