import Foundation
import XCTest
import NIOCore
import KafkaProtocol
@testable import KafkaClient

final class ClientFeatureIntegrationTests: XCTestCase {
    private func consumeAll(_ consumer: KafkaConsumer, expecting count: Int, seconds: Int = 15) async throws -> [ConsumerRecord] {
        var out: [ConsumerRecord] = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        while out.count < count && ContinuousClock.now < deadline {
            out += try await consumer.poll(timeout: .milliseconds(300))
        }
        return out
    }

    func testAcksZeroAndOneDeliver() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("acks")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 1, replicationFactor: 1)])
        for acks in ["0", "1"] {
            let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "acks": acks])
            let metadata = try await producer.send(ProducerRecord(topic: topic, value: "acks-\(acks)"))
            // acks=0 has no response, so no offset; acks=1 reports the real one.
            XCTAssertEqual(metadata.offset, acks == "0" ? -1 : 1)
            await producer.close()
        }
        let consumer = try KafkaConsumer(properties: ["bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"])
        try await consumer.assign([TopicPartition(topic, 0)])
        let records = try await consumeAll(consumer, expecting: 2)
        XCTAssertEqual(records.compactMap { $0.value.map { String(buffer: $0) } }, ["acks-0", "acks-1"])
        await consumer.close()
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }

    func testSeekByTimestampAndPauseResume() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("seek")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 2, replicationFactor: 1)])
        let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap])
        // One batch per record (send waits for each) with the producer's clock, spaced out:
        // Tansu 0.6 resolves ListOffsets by time against append time, so create time must track it.
        var timestamps: [Int64] = []
        for i in 0..<20 {
            timestamps.append(try await producer.send(ProducerRecord(topic: topic, partition: Int32(i % 2), value: "r\(i)")).timestamp)
            try await Task.sleep(for: .milliseconds(25))
        }
        let base = timestamps[10]
        await producer.close()

        let p0 = TopicPartition(topic, 0), p1 = TopicPartition(topic, 1)
        let byTime = try await admin.listOffsets([p0: .timestamp(base), p1: .timestamp(base)])
        // Partition 0 holds even i: i = 10 is its offset 5; on partition 1, i = 11 is offset 5.
        XCTAssertEqual(try byTime[p0]?.get().offset, 5)
        XCTAssertEqual(try byTime[p1]?.get().offset, 5)

        let consumer = try KafkaConsumer(properties: ["bootstrap.servers": bootstrap])
        try await consumer.assign([p0, p1])
        try await consumer.seek([p0, p1], toTimestamp: base)
        await consumer.pause([p1])
        let first = try await consumeAll(consumer, expecting: 5, seconds: 10)
        XCTAssertEqual(Set(first.map(\.partition)), [0], "paused partition 1 returned records")
        XCTAssertEqual(first.first?.offset, 5)
        XCTAssertEqual(first.first?.timestamp, base)
        await consumer.resume([p1])
        let rest = try await consumeAll(consumer, expecting: 5, seconds: 10)
        XCTAssertEqual(rest.map(\.partition), Array(repeating: 1, count: 5))
        await consumer.close()
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }

    func testDeleteRecordsMovesLogStart() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        if try await admin.describeCluster().clusterId?.hasPrefix("tansu") == true {
            throw XCTSkip("Tansu 0.6 advertises DeleteRecords but closes the connection on it")
        }
        let topic = uniqueTopicName("delete-records")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 1, replicationFactor: 1)])
        let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap])
        for i in 0..<10 { try await producer.produce(ProducerRecord(topic: topic, value: "r\(i)")) }
        await producer.close()
        let p0 = TopicPartition(topic, 0)
        let deleted = try await admin.deleteRecords(before: [p0: 3])
        XCTAssertEqual(try deleted[p0]?.get(), 3)
        let earliest = try await admin.listOffsets([p0: .earliest])
        XCTAssertEqual(try earliest[p0]?.get().offset, 3)
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}

final class SubscriptionChangeIntegrationTests: XCTestCase {
    /// Partitions added to a subscribed topic are picked up by a rebalance once metadata
    /// (here refreshed every 300 ms) shows the new count.
    func testAddedPartitionsAreAssignedAfterMetadataRefresh() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        if try await admin.cluster.anyConnection().version(for: ApiKey.createPartitions.rawValue, supported: 0...3) == nil {
            throw XCTSkip("broker does not implement CreatePartitions (Tansu 0.6)")
        }
        let topic = uniqueTopicName("grow")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 1, replicationFactor: 1)])
        let consumer = try KafkaConsumer(properties: [
            "bootstrap.servers": bootstrap, "group.id": uniqueTopicName("grow-group"), "metadata.max.age.ms": "300",
        ])
        try await consumer.subscribe([topic])
        var deadline = ContinuousClock.now + .seconds(60)
        while await consumer.currentAssignment.isEmpty && ContinuousClock.now < deadline {
            _ = try await consumer.poll(timeout: .milliseconds(200))
        }
        let grown: [AdminItemResult]
        do {
            grown = try await admin.createPartitions([topic: 3])
        } catch KafkaClientError.unsupportedApi {
            await consumer.close()
            throw XCTSkip("broker does not implement CreatePartitions (Tansu 0.6)")
        }
        guard grown.first?.succeeded == true else {
            await consumer.close()
            throw XCTSkip("broker cannot add partitions: \(grown)")
        }
        deadline = ContinuousClock.now + .seconds(60)
        while await consumer.currentAssignment.count < 3 && ContinuousClock.now < deadline {
            _ = try await consumer.poll(timeout: .milliseconds(200))
        }
        let assignment = await consumer.currentAssignment
        XCTAssertEqual(assignment.map(\.partition), [0, 1, 2])
        await consumer.close()
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}
