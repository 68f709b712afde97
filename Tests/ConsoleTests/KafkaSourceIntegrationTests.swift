import XCTest
import KafkaClient
@testable import Console

/// Runs each data-source call against a real cluster when `SAMSA_TEST_BOOTSTRAP` is set
/// (the e2e script sets it for Tansu and for a Samsa broker); skipped otherwise.
final class KafkaSourceIntegrationTests: XCTestCase {
    func source() throws -> KafkaClusterSource {
        guard let b = ProcessInfo.processInfo.environment["SAMSA_TEST_BOOTSTRAP"] else { throw XCTSkip("SAMSA_TEST_BOOTSTRAP not set") }
        return try KafkaClusterSource(properties: ["bootstrap.servers": b])
    }

    func testEachCallSeparately() async throws {
        var report: [String] = []
        func run(_ name: String, _ body: (KafkaClusterSource) async throws -> String) async throws {
            let s = try source()
            do { report.append("\(name): ok \(try await body(s))") } catch { report.append("\(name): FAILED \(error)") }
            await s.close()
        }
        try await run("metadata") { "\(try await $0.fetchMetadata().topics.count) topics" }
        try await run("offsets") { s in
            let md = try await s.fetchMetadata()
            let tps = md.topics.flatMap { t in t.partitions.map { TopicPartition(t.name, $0.partition) } }
            return "\(try await s.fetchOffsets(tps, metadata: md).count) partitions"
        }
        try await run("logDirs") { s in "\(await s.fetchLogDirs(brokers: try await s.fetchMetadata().brokers.map(\.id)))" }
        try await run("groups") { "\(try await $0.fetchGroups().count) groups" }
        try await run("committed") { s in "\(try await s.fetchCommittedOffsets(groups: try await s.fetchGroups()).count)" }
        try await run("configs") { s in "\(try await s.fetchTopicConfigs(try await s.fetchMetadata().topics.map(\.name)))" }
        try await run("fetch") { s in
            let md = try await s.fetchMetadata()
            var out: [String] = []
            for t in md.topics.filter({ !$0.isInternal }).sorted(by: { $0.name < $1.name }) {
                let msgs = try await s.fetchMessages(TopicPartition(t.name, 0), fromOffset: 0, maxCount: 5)
                out.append("\(t.name): \(msgs.count) messages, first offset \(msgs.first?.offset ?? -1)")
            }
            return out.joined(separator: "; ")
        }
        print(report.joined(separator: "\n"))
        let failed = report.filter { $0.contains("FAILED") && !$0.hasPrefix("logDirs") }
        XCTAssertTrue(failed.isEmpty, failed.joined(separator: "\n"))
    }
}
