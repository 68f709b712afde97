import XCTest
import TerminalUI
@testable import Console
import enum KafkaClient.KafkaClientError

/// Issue 9, items 9 and 10: the console does not offer to delete internal topics, asks before
/// creating a topic with very many partitions, and re-reads metadata after a CreateTopics
/// timeout before it says "failed".
final class ConsoleGuardrailTests: ScreenTestCase {
    override var terminalWidth: Int { 100 }

    func testInternalTopicsAreNotOfferedForDeletion() throws {
        // The delete key on the internal topic's row.
        let row = try XCTUnwrap(vt.rowIndex(containing: "__consumer_offsets"), vt.text)
        let first = try XCTUnwrap(vt.rowIndex(containing: "orders"))
        for _ in 0..<(row - first) { press(.down) }
        press(.char("d"))
        XCTAssertFalse(vt.contains("Delete topic"), vt.text)
        XCTAssertTrue(vt.text.contains("__consumer_offsets is a Kafka internal topic"), vt.text)
        XCTAssertTrue(vt.text.contains("not allowed"), vt.text)
        // And by command, also for internal names the snapshot does not list.
        for name in ["__consumer_offsets", "__transaction_state", "__cluster_metadata"] {
            press(.char(":")); type("delete-topic \(name)"); press(.enter)
            XCTAssertFalse(vt.contains("Delete topic"), name)
            XCTAssertTrue(vt.text.contains("\(name) is a Kafka internal topic"), vt.text)
        }
        XCTAssertTrue(effects.isEmpty)
    }

    func openCreate(name: String, partitions: String) {
        press(.char("c"))
        type(name)
        press(.tab)
        for _ in 0..<3 { press(.backspace) }
        type(partitions)
        press(.ctrl("s"))
    }

    func testManyPartitionsAskForConfirmationWithTheThresholdShown() {
        press(.char("c"), .tab)   // the hint shows under the focused field
        XCTAssertTrue(vt.text.contains("above 1,000 asks to confirm"), vt.text)
        press(.escape)

        openCreate(name: "huge", partitions: "20000")
        XCTAssertTrue(effects.isEmpty, "nothing is sent before the confirmation")
        XCTAssertTrue(vt.text.contains("Create huge with 20,000 partitions (more than 1,000)? (y/n)"), vt.text)
        press(.char("n"))
        XCTAssertTrue(effects.isEmpty)

        openCreate(name: "huge", partitions: "20000")
        press(.char("y"))
        guard case .perform(.createTopic(let name, let partitions, _, _))? = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(name, "huge")
        XCTAssertEqual(partitions, 20000)

        effects = []
        openCreate(name: "small", partitions: "1000")
        guard case .perform(.createTopic(_, let p, _, _))? = effects.first else { return XCTFail("at the threshold no question: \(effects)") }
        XCTAssertEqual(p, 1000)
    }

    func testCreateTopicTimeoutIsCheckedAgainstMetadataBeforeFailing() async throws {
        let (snap, _) = FixtureCluster.snapshot(samples: 1)
        for (error, createdAnyway, expectOK) in [
            (KafkaClientError.timedOut(operation: "CreateTopics request to 127.0.0.1:9092", milliseconds: 30000) as any Error, true, true),
            (KafkaClusterSource.ActionError(description: "REQUEST_TIMED_OUT (error 7)", code: 7), true, true),
            (KafkaClientError.timedOut(operation: "CreateTopics", milliseconds: 30000), false, false),
            (KafkaClusterSource.ActionError(description: "POLICY_VIOLATION (error 44)", code: 44), true, false),
        ] {
            let c = TimingOutCluster(error: error, createsAnyway: createdAnyway)
            let store = SnapshotStore(.empty(bootstrap: c.displayName))
            let ex = ActionExecutor(source: c, actions: c, brokerControl: nil, inbox: EventInbox(),
                                    sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
            let action = ConsoleAction.createTopic(name: "big", partitions: 5000, replicationFactor: 1, configs: [:])
            if expectOK {
                let text = try await ex.run(action, snapshot: snap)
                XCTAssertEqual(text, "created topic big (5000 partitions): the request timed out, but the topic is in the cluster metadata")
            } else {
                await XCTAssertThrowsErrorAsync { _ = try await ex.run(action, snapshot: snap) }
            }
        }
    }
}

/// A cluster whose CreateTopics fails with `error`, having (or not) created the topic anyway.
final class TimingOutCluster: ClusterDataSource, ClusterActions, @unchecked Sendable {
    let displayName = "timing-out:9092"
    let error: any Error
    let createsAnyway: Bool
    private let lock = NSLock()
    private var created: [TopicMetadata] = []
    init(error: any Error, createsAnyway: Bool) { self.error = error; self.createsAnyway = createsAnyway }

    func fetchMetadata() async throws -> ClusterMetadata {
        var md = FixtureCluster().metadata()
        md.topics += lock.withLock { created }
        return md
    }
    func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets] { [:] }
    func fetchLogDirs(brokers: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>] { [:] }
    func fetchGroups() async throws -> [GroupDescription] { [] }
    func fetchCommittedOffsets(groups: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]] { [:] }
    func fetchTopicConfigs(_ topics: [String]) async throws -> [String: [String: String]] { [:] }
    func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) async throws {
        if createsAnyway {
            let parts = (0..<partitions).map { PartitionMetadata(partition: $0, leader: 1, replicas: [1], isr: [1]) }
            lock.withLock { created.append(TopicMetadata(name: name, partitions: parts)) }
        }
        throw error
    }
    func deleteTopic(name: String) async throws {}
    func alterTopicConfig(topic: String, key: String, value: String) async throws {}
    func produce(topic: String, partition: Int32?, messages: [OutgoingMessage]) async throws -> Int { 0 }
    func offsetsForTime(_ partitions: [TopicPartition], timestampMs: Int64) async throws -> [TopicPartition: Int64] { [:] }
    func commitOffsets(group: String, offsets: [TopicPartition: Int64]) async throws {}
    func fetchMessages(_ partition: TopicPartition, fromOffset offset: Int64, maxCount: Int) async throws -> [ConsoleMessage] { [] }
    func addPartitions(topic: String, total: Int32) async throws {}
    func deleteGroup(_ group: String) async throws {}
    func produceMessage(_ message: SingleMessage) async throws -> (partition: Int32, offset: Int64) { (0, 0) }
    func describeConfigs(_ target: ConfigTarget) async throws -> [ConfigRow] { [] }
    func alterConfigs(_ target: ConfigTarget, set: [String: String], delete: [String]) async throws {}
}
