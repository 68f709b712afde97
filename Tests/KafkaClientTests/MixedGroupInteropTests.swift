import Foundation
import NIOCore
import XCTest
@testable import KafkaClient

/// A Swift consumer and a kafka-python consumer in one group share the partitions (range
/// assignor, the strategy both offer). Needs `SAMSA_TEST_BOOTSTRAP` and `SAMSA_TEST_PYTHON`
/// (a Python with kafka-python, e.g. /opt/peers-venv/bin/python); skipped otherwise.
final class MixedGroupInteropTests: XCTestCase {
    func testSwiftAndKafkaPythonConsumersSplitPartitions() async throws {
        let bootstrap = try integrationBootstrap()
        guard let python = ProcessInfo.processInfo.environment["SAMSA_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("set SAMSA_TEST_PYTHON to a python with kafka-python installed")
        }
        let admin = KafkaAdmin(config: try ClientConfig(bootstrapServers: bootstrap))
        let topic = uniqueTopicName("mixed")
        let group = uniqueTopicName("mixed-group")
        _ = try await admin.createTopics([NewTopic(name: topic, partitions: 4, replicationFactor: 1)])

        // The Python member prints its assignment every 0.3 s into a file, for 70 s at most.
        let out = NSTemporaryDirectory() + "\(group).txt"
        let script = """
        import sys, time
        from kafka import KafkaConsumer
        c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3], enable_auto_commit=False,
                          session_timeout_ms=10000, heartbeat_interval_ms=1000)
        end = time.time() + 70
        while time.time() < end:
            c.poll(300)
            with open(sys.argv[4], "a") as f:
                f.write(",".join(str(p.partition) for p in sorted(c.assignment(), key=lambda p: p.partition)) + "\\n")
        c.close()
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, bootstrap, topic, group, out]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); try? FileManager.default.removeItem(atPath: out) }

        func pythonAssignment() -> [Int32]? {
            guard let text = try? String(contentsOfFile: out, encoding: .utf8),
                  let last = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().last else { return nil }
            return last.isEmpty ? [] : last.split(separator: ",").compactMap { Int32($0) }
        }
        // Let Python own everything first.
        let pyDeadline = ContinuousClock.now + .seconds(45)
        while (pythonAssignment()?.count ?? 0) < 4 && ContinuousClock.now < pyDeadline { try await Task.sleep(for: .milliseconds(300)) }
        XCTAssertEqual(pythonAssignment()?.count, 4, "kafka-python never got the partitions")

        let consumer = try KafkaConsumer(properties: [
            "bootstrap.servers": bootstrap, "group.id": group, "partition.assignment.strategy": "range",
            "session.timeout.ms": "10000", "heartbeat.interval.ms": "1000",
        ])
        try await consumer.subscribe([topic])
        let deadline = ContinuousClock.now + .seconds(60)
        var split = false
        while !split && ContinuousClock.now < deadline {
            _ = try await consumer.poll(timeout: .milliseconds(300))
            let mine = Set(await consumer.currentAssignment.map(\.partition))
            let theirs = Set(pythonAssignment() ?? [])
            split = !mine.isEmpty && !theirs.isEmpty && mine.isDisjoint(with: theirs) && mine.union(theirs) == [0, 1, 2, 3]
        }
        let finalAssignment = await consumer.currentAssignment
        XCTAssertTrue(split, "Swift \(finalAssignment), Python \(pythonAssignment() ?? [])")
        await consumer.close()
        _ = try await admin.deleteTopics([topic])
        await admin.close()
    }
}
