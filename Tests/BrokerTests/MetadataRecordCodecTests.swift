import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// Samsa's `MetadataRecord` <-> Kafka's `__cluster_metadata` records, and the image as records.
final class MetadataRecordCodecTests: XCTestCase {
    private let t1 = TopicID(mostSignificantBits: 0x0102_0304_0506_0708, leastSignificantBits: 0x090A_0B0C_0D0E_0F10)
    private let t2 = TopicID(mostSignificantBits: 77, leastSignificantBits: 88)

    /// One of every case, with non-default values, so a field the codec drops is noticed.
    private var everyCase: [MetadataRecord] {
        [
            .registerBroker(BrokerRegistration(id: 3, endpoints: [.init(listener: "PLAINTEXT", host: "b3", port: 9092),
                                                                  .init(listener: "SSL", host: "b3", port: 9093, securityProtocol: 1)],
                                               rack: "r1", fenced: false, epoch: 12, incarnationId: t2, inControlledShutdown: true)),
            .registerBroker(BrokerRegistration(id: 4, endpoints: [], rack: nil, fenced: true)),
            .topic(name: "orders", id: t1),
            .partition(topicID: t1, PartitionRegistration(partition: 2, replicas: [3, 4, 5], isr: [3, 5], leader: 5,
                                                         leaderEpoch: 7, partitionEpoch: 9)),
            .partition(topicID: t1, PartitionRegistration(partition: 0, replicas: [3], isr: [], leader: -1,
                                                         leaderEpoch: 1, partitionEpoch: 2)),
            .removeTopic(t1),
            .config(resourceType: 2, resourceName: "orders", name: "retention.ms", value: "1000"),
            .config(resourceType: 4, resourceName: "", name: "log.retention.ms", value: nil),
            .producerIds(nextProducerId: 5000),
            .partitionChange(PartitionChange(topicID: t1, partition: 1, leader: 4, isr: [4], replicas: [4, 3])),
            .partitionChange(PartitionChange(topicID: t1, partition: 1, leader: nil, isr: [4, 3], replicas: nil)),
            .partitionChange(PartitionChange(topicID: t1, partition: 1, leader: -1)),
            .fenceBroker(id: 3, epoch: 12),
            .unfenceBroker(id: 3, epoch: 12),
            .brokerRegistrationChange(id: 3, epoch: 12, fenced: true, inControlledShutdown: nil),
            .brokerRegistrationChange(id: 3, epoch: 12, fenced: false, inControlledShutdown: true),
            .brokerRegistrationChange(id: 3, epoch: 12, fenced: nil, inControlledShutdown: nil),
            .unregisterBroker(id: 4, epoch: 20),
            .featureLevel(name: "metadata.version", level: 21),
            .noOp,
        ]
    }

    func testEveryCaseRoundTripsThroughKafkasBytes() throws {
        for record in everyCase {
            let bytes = try MetadataRecordCodec.encode(record)
            XCTAssertEqual(try MetadataRecordCodec.decode(bytes), record, "\(record)")
        }
    }

    func testVersionsWrittenAreKafka39And40s() throws {
        func version(_ r: MetadataRecord) throws -> Int16 { try MetadataRecordCodec.kafkaRecord(for: r).version }
        XCTAssertEqual(try version(everyCase[0]), 3)   // RegisterBrokerRecord
        XCTAssertEqual(try version(everyCase[3]), 1)   // PartitionRecord
        XCTAssertEqual(try version(everyCase[9]), 1)   // PartitionChangeRecord
        XCTAssertEqual(try version(everyCase[14]), 2)  // BrokerRegistrationChangeRecord
        XCTAssertEqual(try version(.topic(name: "a", id: t1)), 0)
    }

    /// PartitionChangeRecord's Leader: -2 = unchanged (not written: it is the tagged default),
    /// -1 = no leader, as Kafka's PartitionChangeRecord.json.
    func testPartitionChangeLeaderSentinels() throws {
        let unchanged = try MetadataRecordCodec.kafkaRecord(for: .partitionChange(PartitionChange(topicID: t1, partition: 0, isr: [1])))
        XCTAssertEqual((unchanged.record as? PartitionChangeRecord)?.leader, -2)
        let none = try MetadataRecordCodec.kafkaRecord(for: .partitionChange(PartitionChange(topicID: t1, partition: 0, leader: -1)))
        XCTAssertEqual((none.record as? PartitionChangeRecord)?.leader, -1)
        // Bytes: frame 1, type 5, version 1, partition 0, topic id, one tagged field (tag 0: ISR [1]).
        let bytes = try MetadataRecordCodec.encode(.partitionChange(PartitionChange(topicID: t1, partition: 0, isr: [1])))
        XCTAssertEqual(Array(bytes.readableBytesView),
                       [0x01, 0x05, 0x01, 0, 0, 0, 0] + Array(1...16) + [0x01, 0x00, 0x05, 0x02, 0, 0, 0, 1])
        // Kafka record with leader -3 is not a leader id, an unchanged marker or "none".
        var bad = PartitionChangeRecord()
        bad.leader = -3
        XCTAssertThrowsError(try MetadataRecordCodec.metadataRecord(from: bad))
    }

    /// BrokerRegistrationChangeRecord carries Kafka's BrokerRegistrationFencingChange (-1 unfence,
    /// 0 none, 1 fence) and BrokerRegistrationInControlledShutdownChange (0 none, 1 in).
    func testBrokerRegistrationChangeValues() throws {
        func kafka(_ fenced: Bool?, _ shutdown: Bool?) throws -> BrokerRegistrationChangeRecord {
            let kafka = try MetadataRecordCodec.kafkaRecord(for: .brokerRegistrationChange(id: 1, epoch: 2, fenced: fenced,
                                                                                          inControlledShutdown: shutdown))
            return try XCTUnwrap(kafka.record as? BrokerRegistrationChangeRecord)
        }
        XCTAssertEqual(try kafka(true, nil).fenced, 1)
        XCTAssertEqual(try kafka(false, nil).fenced, -1)
        XCTAssertEqual(try kafka(nil, nil).fenced, 0)
        XCTAssertEqual(try kafka(nil, true).inControlledShutdown, 1)
        XCTAssertEqual(try kafka(nil, nil).inControlledShutdown, 0)
        // Kafka has no "leave controlled shutdown" change: the broker registers again.
        XCTAssertThrowsError(try kafka(nil, false)) { XCTAssertTrue("\($0)".contains("controlled shutdown")) }
        XCTAssertThrowsError(try MetadataRecordCodec.metadataRecord(from: BrokerRegistrationChangeRecord(fenced: 2)))
        XCTAssertThrowsError(try MetadataRecordCodec.metadataRecord(from: BrokerRegistrationChangeRecord(inControlledShutdown: -1)))
    }

    /// A PartitionRecord in Kafka's bytes, built by hand from PartitionRecord.json v1.
    func testPartitionRecordGoldenBytes() throws {
        let record = MetadataRecord.partition(topicID: t1, PartitionRegistration(partition: 1, replicas: [1], isr: [1], leader: 1,
                                                                                  leaderEpoch: 3, partitionEpoch: 4))
        var expected: [UInt8] = [0x01, 0x03, 0x01]
        expected += [0, 0, 0, 1] + Array(1...16)  // PartitionId, TopicId
        expected += [0x02, 0, 0, 0, 1]  // Replicas [1]
        expected += [0x02, 0, 0, 0, 1]  // Isr [1]
        expected += [0x01, 0x01]  // RemovingReplicas [], AddingReplicas []
        expected += [0, 0, 0, 1]  // Leader 1 (LeaderRecoveryState 0 is tagged and default)
        expected += [0, 0, 0, 3, 0, 0, 0, 4]  // LeaderEpoch, PartitionEpoch
        expected += [0x02] + Array(repeating: 0, count: 16)  // Directories [UNASSIGNED]
        expected += [0x00]
        XCTAssertEqual(Array(try MetadataRecordCodec.encode(record).readableBytesView), expected)
        XCTAssertEqual(try MetadataRecordCodec.decode(ByteBuffer(bytes: expected)), record)
    }

    func testUnmodelledKafkaRecordsDecodeToNilAndGarbageThrows() throws {
        let quota = try MetadataRecordSerde.encode(ClientQuotaRecord(), version: 0)
        XCTAssertNil(try MetadataRecordCodec.decode(quota))
        XCTAssertThrowsError(try MetadataRecordCodec.decode(ByteBuffer(bytes: [0x01, 0x63, 0x00])))
        XCTAssertThrowsError(try MetadataRecordCodec.encode(.registerBroker(
            BrokerRegistration(id: 1, endpoints: [.init(listener: "P", host: "h", port: 70_000)], rack: nil, fenced: false))))
    }

    // MARK: image <-> records

    private func sampleImage() -> MetadataImage {
        var image = MetadataImage(clusterId: "c1", controllerId: 1)
        let history: [MetadataRecord] = [
            .featureLevel(name: "kraft.version", level: 1),
            .featureLevel(name: "metadata.version", level: 21),
            .registerBroker(BrokerRegistration(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "b2", port: 1)], rack: "r", fenced: false, epoch: 4)),
            .registerBroker(BrokerRegistration(id: 1, endpoints: [.init(listener: "PLAINTEXT", host: "b1", port: 2)], rack: nil, fenced: false, epoch: 3)),
            .fenceBroker(id: 2, epoch: 4),
            .topic(name: "b", id: t2),
            .topic(name: "a", id: t1),
            .partition(topicID: t1, PartitionRegistration(partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0)),
            .partition(topicID: t1, PartitionRegistration(partition: 1, replicas: [2, 1], isr: [2, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0)),
            .partition(topicID: t2, PartitionRegistration(partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0)),
            .partitionChange(PartitionChange(topicID: t1, partition: 1, leader: 1, isr: [1])),
            .config(resourceType: 2, resourceName: "a", name: "cleanup.policy", value: "compact"),
            .config(resourceType: 2, resourceName: "a", name: "retention.ms", value: "5"),
            .config(resourceType: 2, resourceName: "a", name: "retention.ms", value: nil),
            .config(resourceType: 4, resourceName: "", name: "log.retention.ms", value: "9"),
            .config(resourceType: 4, resourceName: "1", name: "log.cleaner.threads", value: "2"),
            .producerIds(nextProducerId: 2000),
            .removeTopic(t2),
            .noOp,
        ]
        for r in history { image.apply(r) }
        return image
    }

    func testImageRecordsRebuildTheImage() throws {
        let image = sampleImage()
        let records = image.records()
        var rebuilt = MetadataImage(clusterId: image.clusterId, controllerId: image.controllerId)
        for r in records { rebuilt.apply(r) }
        XCTAssertEqual(rebuilt.recordCount, Int64(records.count))
        rebuilt.recordCount = image.recordCount
        XCTAssertEqual(rebuilt, image)
        // Minimal: 2 features, 2 brokers, 1 topic + 1 config + 2 partitions, 2 broker configs, 1 producer id block.
        XCTAssertEqual(records.count, 11)
        XCTAssertEqual(records.first, .featureLevel(name: "metadata.version", level: 21))
        // And through Kafka's bytes.
        var viaBytes = MetadataImage(clusterId: image.clusterId, controllerId: image.controllerId)
        for r in records { if let d = try MetadataRecordCodec.decode(try MetadataRecordCodec.encode(r)) { viaBytes.apply(d) } }
        viaBytes.recordCount = image.recordCount
        XCTAssertEqual(viaBytes, image)
        XCTAssertEqual(image.records(), records, "deterministic")
    }

    func testEmptyImageHasNoRecords() {
        XCTAssertEqual(MetadataImage(clusterId: "c", controllerId: 1).records(), [])
    }
}
