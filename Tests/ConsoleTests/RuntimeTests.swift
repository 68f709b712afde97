import XCTest
@testable import Console
import enum KafkaClient.KafkaClientError
import enum KafkaClient.KafkaAcl
import enum KafkaClient.ScramUserMechanism
import struct KafkaClient.ScramUserDescription

/// A scripted in-memory cluster for runtime tests (test code only): answers from a
/// `FixtureCluster`, can fail chosen sections, and records the actions performed.
final class ScriptedCluster: ClusterDataSource, ClusterActions, @unchecked Sendable {
    let displayName = "scripted:9092"
    var fixture = FixtureCluster()
    var failGroups: String?
    var byTime: [TopicPartition: Int64] = [:]
    private let lock = NSLock()
    private(set) var commits: [(String, [TopicPartition: Int64])] = []

    /// For rolling-restart tests: this many more Metadata answers show orders-1 under-replicated.
    var underReplicatedLooks: Int {
        get { lock.withLock { _underReplicatedLooks } }
        set { lock.withLock { _underReplicatedLooks = newValue } }
    }
    private var _underReplicatedLooks = 0
    func fetchMetadata() async throws -> ClusterMetadata {
        let shrunk = lock.withLock { () -> Bool in
            guard _underReplicatedLooks > 0 else { return false }
            _underReplicatedLooks -= 1
            return true
        }
        guard shrunk else { return fixture.metadata() }
        var f = fixture
        f.orders1ISR = [2]
        return f.metadata()
    }
    func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets] {
        guard case .success(let o) = fixture.raw(at: Date()).offsets else { return [:] }
        return o.filter { partitions.contains($0.key) }
    }
    func fetchLogDirs(brokers: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>] { fixture.raw(at: Date()).logDirs }
    func fetchGroups() async throws -> [GroupDescription] {
        if let failGroups { throw SourceError(failGroups) }
        return try fixture.raw(at: Date()).groups.get()
    }
    func fetchCommittedOffsets(groups: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]] { fixture.committed }
    func fetchTopicConfigs(_ topics: [String]) async throws -> [String: [String: String]] { [:] }

    func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) async throws {}
    func deleteTopic(name: String) async throws {}
    func alterTopicConfig(topic: String, key: String, value: String) async throws {}
    func produce(topic: String, partition: Int32?, messages: [OutgoingMessage]) async throws -> Int { messages.count }
    func offsetsForTime(_ partitions: [TopicPartition], timestampMs: Int64) async throws -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: partitions.map { ($0, byTime[$0] ?? -1) })
    }
    func commitOffsets(group: String, offsets: [TopicPartition: Int64]) async throws { lock.withLock { commits.append((group, offsets)) } }
    func fetchMessages(_ partition: TopicPartition, fromOffset offset: Int64, maxCount: Int) async throws -> [ConsoleMessage] {
        let all = lock.withLock { stored[partition] ?? [] }
        return Array(all.filter { $0.offset >= offset }.prefix(maxCount))
    }

    // Operator actions (issue 10): recorded for assertions.
    var stored: [TopicPartition: [ConsoleMessage]] = [:]
    var configs: [ConfigTarget: [ConfigRow]] = [:]
    private(set) var performed: [String] = []
    private func record(_ s: String) { lock.withLock { performed.append(s) } }
    func addPartitions(topic: String, total: Int32) async throws { record("addPartitions \(topic) \(total)") }
    func deleteGroup(_ group: String) async throws { record("deleteGroup \(group)") }
    /// Answers of `electPreferredLeaders`, per partition (absent: elected).
    var electionErrors: [TopicPartition: (Int16, String)] = [:]
    func electPreferredLeaders(_ partitions: [TopicPartition]?) async throws -> [ElectionOutcome] {
        record("elect " + (partitions.map { $0.map { "\($0.topic)-\($0.partition)" }.joined(separator: ",") } ?? "all"))
        let tps = partitions ?? fixture.metadata().topics.flatMap { t in t.partitions.map { TopicPartition(t.name, $0.partition) } }
        return tps.map { tp in
            guard let (code, text) = lock.withLock({ electionErrors[tp] }) else { return ElectionOutcome(partition: tp) }
            return ElectionOutcome(partition: tp, errorCode: code, error: text)
        }
    }
    func produceMessage(_ m: SingleMessage) async throws -> (partition: Int32, offset: Int64) {
        record("produce \(m.topic) \(m.partition.map(String.init) ?? "-") \(String(decoding: m.value ?? [], as: UTF8.self))")
        return (m.partition ?? 0, 42)
    }
    // ACLs and SCRAM users (issue 14 item 4): kept in memory; an error set here is thrown.
    var acls: [KafkaAcl.Binding] = []
    var aclError: KafkaClientError?
    var scramUsers: [String: [ScramUserMechanism: Int]] = [:]
    var scramError: KafkaClientError?
    private(set) var passwords: [String] = []
    func describeAcls() async throws -> [KafkaAcl.Binding] {
        if let e = lock.withLock({ aclError }) { throw e }
        return lock.withLock { acls }
    }
    func createAcls(_ bindings: [KafkaAcl.Binding]) async throws {
        if let e = lock.withLock({ aclError }) { throw e }
        record("createAcls " + bindings.map(ConsoleController.aclText).joined(separator: "; "))
        lock.withLock { acls += bindings.filter { !acls.contains($0) } }
    }
    func deleteAcl(_ binding: KafkaAcl.Binding) async throws -> Int {
        if let e = lock.withLock({ aclError }) { throw e }
        record("deleteAcl " + ConsoleController.aclText(binding))
        return lock.withLock { let n = acls.count; acls.removeAll { $0 == binding }; return n - acls.count }
    }
    func describeScramUsers() async throws -> [ScramUserDescription] {
        if let e = lock.withLock({ scramError }) { throw e }
        return lock.withLock { scramUsers }.sorted { $0.key < $1.key }.map { user, creds in
            ScramUserDescription(user: user, credentials: creds.sorted { $0.key.rawValue < $1.key.rawValue }.map { .init(mechanism: $0.key.name, iterations: Int32($0.value)) })
        }
    }
    func upsertScramUser(_ user: String, mechanism: ScramUserMechanism, password: String, iterations: Int) async throws {
        if let e = lock.withLock({ scramError }) { throw e }
        record("upsert \(user) \(mechanism.name) \(iterations)")
        lock.withLock { passwords.append(password); scramUsers[user, default: [:]][mechanism] = iterations }
    }
    func deleteScramUser(_ user: String, mechanism: ScramUserMechanism) async throws {
        if let e = lock.withLock({ scramError }) { throw e }
        record("deleteUser \(user) \(mechanism.name)")
        lock.withLock {
            scramUsers[user]?[mechanism] = nil
            if scramUsers[user]?.isEmpty == true { scramUsers[user] = nil }
        }
    }
    func describeConfigs(_ target: ConfigTarget) async throws -> [ConfigRow] {
        guard let rows = lock.withLock({ configs[target] }) else { throw SourceError("UNKNOWN_TOPIC_OR_PARTITION") }
        return rows
    }
    func alterConfigs(_ target: ConfigTarget, set: [String: String], delete: [String]) async throws {
        record("alter \(target) set \(set.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }) delete \(delete)")
        lock.withLock {
            var rows = configs[target] ?? []
            for (k, v) in set {
                rows.removeAll { $0.name == k }
                rows.append(ConfigRow(name: k, value: v, source: target.isBroker ? .dynamicBroker : .topicOverride))
            }
            for k in delete {
                if let i = rows.firstIndex(where: { $0.name == k }) { rows[i].source = .defaultValue; rows[i].value = "default-of-\(k)" }
            }
            configs[target] = rows.sorted { $0.name < $1.name }
        }
    }
}

final class RuntimeTests: XCTestCase {
    func executor(_ c: ScriptedCluster) -> ActionExecutor {
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        return ActionExecutor(source: c, actions: c, brokerControl: nil, inbox: EventInbox(),
                              sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
    }

    func testOneFailingSectionDoesNotBlankTheOthers() async {
        let c = ScriptedCluster()
        c.failGroups = "coordinator not available"
        let raw = await ClusterSampler.collect(from: c, withConfigs: true)
        var state = SamplerState()
        let s = state.ingest(raw, bootstrap: c.displayName)
        XCTAssertEqual(s.topics.count, 3)
        XCTAssertEqual(s.errors[.groups], "coordinator not available")
        XCTAssertNotNil(s.errors[.committed], "committed offsets are skipped without groups")
        XCTAssertNil(s.errors[.offsets])
    }

    func testResetPlanClampsAndUsesTimeLookup() async throws {
        let c = ScriptedCluster()
        let (snap, _) = FixtureCluster.snapshot(samples: 1)
        let ex = executor(c)
        // orders-0: log start 100, end 1000; offsets below the start are clamped to it.
        var plan = try await ex.plan(OffsetResetRequest(group: "billing", topic: "orders", strategy: .offset, value: 5), snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [100, 5, 5])
        XCTAssertEqual(plan.rows[0].current, 900)
        XCTAssertEqual(plan.activeMembers, 2)
        plan = try await ex.plan(OffsetResetRequest(group: "billing", topic: nil, strategy: .earliest, value: nil), snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [100, 0, 0])
        XCTAssertEqual(plan.rows.map(\.lagAfter), [900, 2000, 500])
        // By time: -1 (no message that late) means the end.
        c.byTime = [TopicPartition("orders", 0): 400]
        plan = try await ex.plan(OffsetResetRequest(group: "billing", topic: "orders", strategy: .time, value: 1), snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [400, 2000, 500])
        await XCTAssertThrowsErrorAsync { _ = try await ex.plan(OffsetResetRequest(group: "nobody", topic: nil, strategy: .latest, value: nil), snapshot: snap) }
    }

    func testExecuteResetCommitsThePlan() async throws {
        let c = ScriptedCluster()
        let (snap, _) = FixtureCluster.snapshot(samples: 1)
        let plan = OffsetResetPlan(request: OffsetResetRequest(group: "audit", topic: nil, strategy: .latest, value: nil),
                                   rows: [OffsetResetRow(partition: TopicPartition("payments", 0), current: 40, target: 42, end: 42)], activeMembers: 0)
        let text = try await executor(c).run(.executeOffsetReset(plan), snapshot: snap)
        XCTAssertEqual(text, "reset 1 partition of audit to latest")
        XCTAssertEqual(c.commits.first?.0, "audit")
        XCTAssertEqual(c.commits.first?.1, [TopicPartition("payments", 0): 42])
    }

    /// The executor re-checks the spec, so no caller can make the pacing maths trap.
    func testProduceRefusesImpossibleSpecsWithAnError() async {
        let c = ScriptedCluster()
        for spec in [ProduceSpec(topic: "t", partition: nil, count: 1, sizeBytes: 10, keyPattern: "", rate: .infinity),
                     ProduceSpec(topic: "t", partition: nil, count: 10_000_000, sizeBytes: 1_000_000, keyPattern: "", rate: 0),
                     ProduceSpec(topic: "t", partition: nil, count: 0, sizeBytes: 10, keyPattern: "", rate: 0)] {
            do { _ = try await ActionExecutor.produce(spec, with: c); XCTFail("accepted \(spec)") } catch {}
        }
    }

    /// Kafka answers UNKNOWN_MEMBER_ID per partition when offsets are reset under a live
    /// group; the console printed it three times, cut off, with no hint.
    func testCommitFailuresAreSummarisedWithAHint() {
        let e = KafkaClientError.broker(code: 25, name: "UNKNOWN_MEMBER_ID", context: "commit", message: nil)
        let text = KafkaClusterSource.describeCommitFailures([TopicPartition("o", 0): e, TopicPartition("o", 1): e], group: "billing", partitions: 2)!
        XCTAssertEqual(text, "2 of 2 partition(s): UNKNOWN_MEMBER_ID (error 25); group billing has active members: stop its consumers, then reset")
        XCTAssertNil(KafkaClusterSource.describeCommitFailures([:], group: "g", partitions: 1))
    }

    /// In --read-only the Messages pane said "reading messages needs a client": the reader
    /// was dropped together with the mutations.
    func testReadOnlyKeepsTheMessageReader() {
        let c = ScriptedCluster()
        let rt = ConsoleRuntime(source: c, actions: c, brokerControl: nil, options: ConsoleOptions(readOnly: true))
        XCTAssertNil(rt.actions)
        XCTAssertNotNil(rt.messageReader)
    }

    func testProducePacesAndCounts() async throws {
        let c = ScriptedCluster()
        let t0 = ContinuousClock.now
        let n = try await ActionExecutor.produce(ProduceSpec(topic: "t", partition: nil, count: 30, sizeBytes: 50, keyPattern: "k-{n}", rate: 100), with: c)
        XCTAssertEqual(n, 30)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - t0, .milliseconds(250), "30 messages at 100/s take ~0.3 s")
    }
}
