import XCTest
import NIOCore
@testable import KafkaClient

final class AdminIntegrationTests: XCTestCase {
    func testCreateDescribeAndDeleteTopic() async throws {
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: try integrationBootstrap()))
        defer { Task { await admin.close() } }
        let topic = uniqueTopicName("admin")
        let created = try await admin.createTopics([NewTopic(name: topic, partitions: 3, replicationFactor: 1)])
        XCTAssertEqual(created.map(\.errorCode), [0], "\(created)")
        let described = try await admin.describeTopics([topic])
        XCTAssertEqual(described.first?.partitions.count, 3)
        XCTAssertTrue(described.first?.partitions.allSatisfy { $0.leader >= 0 && !$0.replicas.isEmpty } ?? false)
        let listed = try await admin.listTopics()
        XCTAssertTrue(listed.contains(topic))
        let cluster = try await admin.describeCluster()
        XCTAssertFalse(cluster.brokers.isEmpty)
        // Creating it again fails for that topic only, with TOPIC_ALREADY_EXISTS (36).
        let again = try await admin.createTopics([NewTopic(name: topic, partitions: 1, replicationFactor: 1)])
        XCTAssertEqual(again.first?.errorCode, 36)
        let deleted = try await admin.deleteTopics([topic])
        XCTAssertEqual(deleted.map(\.errorCode), [0])
    }

    func testProduceThenListOffsets() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("offsets")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 2, replicationFactor: 1)])
        let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "linger.ms": "1"])
        var last: RecordMetadata?
        for i in 0..<10 {
            last = try await producer.send(ProducerRecord(topic: topic, partition: 1, key: "k\(i)", value: "v\(i)"))
        }
        XCTAssertEqual(last?.offset, 9)
        await producer.close()
        let offsets = try await admin.listOffsets([TopicPartition(topic, 0): .earliest, TopicPartition(topic, 1): .earliest])
        XCTAssertEqual(try offsets[TopicPartition(topic, 1)]?.get().offset, 0)
        XCTAssertEqual(try offsets[TopicPartition(topic, 0)]?.get().offset, 0)
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}
