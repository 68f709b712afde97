import Foundation
import NIOCore
import XCTest
@testable import KafkaClient

/// Round trips with librdkafka through kcat, for every codec, and the keyed-partition check.
/// Needs `SAMSA_TEST_BOOTSTRAP` and `SAMSA_TEST_KCAT` (a kcat built on librdkafka >= 2.2, e.g.
/// /opt/peers/bin/kcat216); skipped otherwise.
final class KcatInteropTests: XCTestCase {
    private func kcatPath() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["SAMSA_TEST_KCAT"], FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("set SAMSA_TEST_KCAT to a kcat binary to run librdkafka interop tests")
        }
        return path
    }

    @discardableResult
    private func run(_ path: String, _ args: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let input = Pipe()
        process.standardInput = input
        let exit = ProcessExitWaiter(process)
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        XCTAssertTrue(exit.wait(for: process), "kcat \(args) did not exit within 120 s")
        XCTAssertEqual(process.terminationStatus, 0, "kcat \(args) failed")
        return String(decoding: data, as: UTF8.self)
    }

    func testSwiftProducerToKcatAndBackForEveryCodec() async throws {
        let bootstrap = try integrationBootstrap()
        let kcat = try kcatPath()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        for codec in CompressionType.allCases {
            // Swift -> kcat
            let out = uniqueTopicName("to-kcat-\(codec.rawValue)")
            _ = try await admin.createTopics([NewTopic(name: out, partitions: 1, replicationFactor: 1)])
            let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "compression.type": codec.rawValue])
            for i in 0..<200 { try await producer.produce(ProducerRecord(topic: out, key: "k\(i)", value: "swift-\(codec.rawValue)-\(i)")) }
            await producer.close()
            let consumed = try run(kcat, ["-b", bootstrap, "-C", "-t", out, "-e", "-q", "-f", "%k=%s\\n"])
            XCTAssertEqual(consumed.split(separator: "\n").count, 200, "kcat read Swift's \(codec) batch")
            XCTAssertTrue(consumed.contains("k199=swift-\(codec.rawValue)-199"))

            // kcat -> Swift
            let back = uniqueTopicName("from-kcat-\(codec.rawValue)")
            _ = try await admin.createTopics([NewTopic(name: back, partitions: 1, replicationFactor: 1)])
            let lines = (0..<200).map { "k\($0):kcat-\(codec.rawValue)-\($0)" }.joined(separator: "\n") + "\n"
            try run(kcat, ["-b", bootstrap, "-P", "-t", back, "-K:", "-z", codec.rawValue], stdin: lines)
            let consumer = try KafkaConsumer(properties: ["bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"])
            try await consumer.assign([TopicPartition(back, 0)])
            var values: [String] = []
            let deadline = ContinuousClock.now + .seconds(15)
            while values.count < 200 && ContinuousClock.now < deadline {
                values += try await consumer.poll(timeout: .milliseconds(300)).map { String(buffer: $0.value!) }
            }
            await consumer.close()
            XCTAssertEqual(values.count, 200, "Swift read kcat's \(codec) batch")
            XCTAssertEqual(values.last, "kcat-\(codec.rawValue)-199")
            _ = try await admin.deleteTopics([out, back])
        }
        await admin.close()
    }

    /// Keyed records must land where librdkafka's murmur2_random partitioner (= Java's default) puts them.
    func testKeyedRecordsMatchLibrdkafkaMurmur2() async throws {
        let bootstrap = try integrationBootstrap()
        let kcat = try kcatPath()
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("keys")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 7, replicationFactor: 1)])
        let lines = (0..<300).map { "user-\($0):v" }.joined(separator: "\n") + "\n"
        try run(kcat, ["-b", bootstrap, "-P", "-t", topic, "-K:", "-X", "partitioner=murmur2_random"], stdin: lines)
        let placed = try run(kcat, ["-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%k %p\\n"])
        var checked = 0
        for line in placed.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let partition = Int32(parts[1]) else { continue }
            XCTAssertEqual(Murmur2.partition(forKey: Array(parts[0].utf8), partitionCount: 7), partition, "key \(parts[0])")
            checked += 1
        }
        XCTAssertEqual(checked, 300)
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}
