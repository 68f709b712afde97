import XCTest
import NIOCore
@testable import KafkaClient

final class ConsumerIntegrationTests: XCTestCase {
    private func produce(_ bootstrap: String, topic: String, count: Int, partitions: Int32, compression: String = "none") async throws {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "compression.type": compression])
        for i in 0..<count {
            try await producer.produce(ProducerRecord(topic: topic, partition: Int32(i) % partitions, key: "key-\(i)", value: "value-\(i)",
                                                      headers: [("h", "\(i)")]))
        }
        await producer.flush()
        await producer.close()
    }

    func testAssignedConsumerReadsEverythingForEveryCodec() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        for codec in CompressionType.allCases {
            let topic = uniqueTopicName("consume-\(codec.rawValue)")
            _ = try await admin.createTopics([NewTopic(name: topic, partitions: 2, replicationFactor: 1)])
            try await produce(bootstrap, topic: topic, count: 500, partitions: 2, compression: codec.rawValue)
            let consumer = try KafkaConsumer(properties: ["bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"])
            try await consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
            var seen: [String: ConsumerRecord] = [:]
            let deadline = ContinuousClock.now + .seconds(20)
            while seen.count < 500 && ContinuousClock.now < deadline {
                for r in try await consumer.poll(timeout: .milliseconds(500)) {
                    seen[String(buffer: r.value!)] = r
                }
            }
            XCTAssertEqual(seen.count, 500, "codec \(codec)")
            let r = seen["value-7"]
            XCTAssertEqual(r?.partition, 1)
            XCTAssertEqual(r?.offset, 3)
            XCTAssertEqual(r.flatMap { $0.key.map { String(buffer: $0) } }, "key-7")
            XCTAssertEqual(r?.headers.first?.key, "h")
            await consumer.close()
            _ = try await admin.deleteTopics([topic])
        }
        await admin.close()
    }

    func testGroupConsumerCommitsAndAdminReportsLag() async throws {
        let bootstrap = try integrationBootstrap()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("group")
        let group = uniqueTopicName("g")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 3, replicationFactor: 1)])
        try await produce(bootstrap, topic: topic, count: 90, partitions: 3)
        let consumer = try KafkaConsumer(properties: [
            "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": "false", "max.poll.records": "20",
        ])
        let assigned = Locked<[TopicPartition]>([])
        try await consumer.subscribe([topic], listener: RebalanceListener(assigned: { tps in assigned.withLock { $0 += tps } }))
        var count = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while count < 60 && ContinuousClock.now < deadline {
            count += try await consumer.poll(timeout: .milliseconds(500)).count
        }
        XCTAssertGreaterThanOrEqual(count, 60)
        XCTAssertEqual(assigned.withLock { $0 }.count, 3)
        try await consumer.commitSync()
        let committed = try await admin.committedOffsets(group: group)
        let total = committed.values.reduce(0) { $0 + $1.offset }
        XCTAssertEqual(Int(total), count)
        let lag = try await admin.lag(groups: [group])[group]!.get()
        XCTAssertEqual(lag.count, 3, "\(lag)")
        let probe = try await admin.probe(Dictionary(uniqueKeysWithValues: committed.map { ($0.key, $0.value.offset) }), now: 0)
        XCTAssertEqual(probe.count, 3, "\(probe)")
        XCTAssertEqual(lag.reduce(0) { $0 + $1.lag }, Int64(90 - count))
        let described = try await admin.describeGroups([group])[group]!.get()
        XCTAssertEqual(described.members.count, 1)
        await consumer.close()
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}
