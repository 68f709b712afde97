import XCTest
@testable import Broker
import KafkaProtocol

/// Leader elections (PREFERRED, UNCLEAN, ONLINE), ElectLeaders, auto rebalance, unclean
/// elections on fencing, and partition reassignment, as pure functions of the image, against
/// Kafka's `PartitionChangeBuilder` / `ReplicationControlManager` rules.
final class ReplicationControlTests: XCTestCase {
    var image = MetadataImage(clusterId: "c", controllerId: 100)
    var topicCount: UInt64 = 0

    override func setUp() {
        image = MetadataImage(clusterId: "c", controllerId: 100)
        topicCount = 0
    }

    func brokers(_ ids: [Int32], fenced: Set<Int32> = []) {
        for id in ids {
            image.apply(.registerBroker(BrokerRegistration(id: id, endpoints: [.init(listener: "PLAINTEXT", host: "h\(id)", port: 9092)],
                                                           rack: nil, fenced: fenced.contains(id), epoch: Int64(id))))
        }
    }

    func fence(_ id: Int32) { image.apply(.brokerRegistrationChange(id: id, epoch: Int64(id), fenced: true, inControlledShutdown: nil)) }

    /// Partitions as (replicas, isr, leader).
    @discardableResult
    func topic(_ name: String, _ parts: [([Int32], [Int32], Int32)], configs: [String: String] = [:]) -> TopicID {
        topicCount += 1
        let id = KafkaUUID(mostSignificantBits: 5, leastSignificantBits: topicCount)
        image.apply(.topic(name: name, id: id))
        for (i, p) in parts.enumerated() {
            image.apply(.partition(topicID: id, PartitionRegistration(partition: Int32(i), replicas: p.0, isr: p.1, leader: p.2,
                                                                     leaderEpoch: 0, partitionEpoch: 0)))
        }
        for (k, v) in configs { image.apply(.config(resourceType: 2, resourceName: name, name: k, value: v)) }
        return id
    }

    func p(_ topic: String, _ i: Int) -> PartitionRegistration { image.topics[topic]!.partitions[i] }
    func apply(_ records: [MetadataRecord]) { for r in records { image.apply(r) } }
    var active: (Int32) -> Bool { { [image] in ClusterControl.isActive($0, image: image) } }

    // MARK: PartitionLeaderElection

    func testElectionRules() {
        brokers([1, 2, 3])
        let t = topic("t", [([1, 2, 3], [1, 2, 3], 2)])
        let part = p("t", 0)
        XCTAssertNil(PartitionLeaderElection.change(topicID: t, partition: part, targetIsr: part.isr, isAcceptableLeader: active),
                     "ONLINE keeps a valid leader")
        XCTAssertEqual(PartitionLeaderElection.change(topicID: t, partition: part, targetIsr: part.isr, election: .preferred, isAcceptableLeader: active),
                       PartitionChange(topicID: t, partition: 0, leader: 1), "PREFERRED moves to replicas[0]")
        XCTAssertNil(PartitionLeaderElection.change(topicID: t, partition: part, targetIsr: [2, 3], election: .preferred, isAcceptableLeader: active)
                        .flatMap(\.leader), "PREFERRED keeps the current leader when the preferred one is out of the ISR")
        XCTAssertNil(PartitionLeaderElection.change(topicID: t, partition: part, targetIsr: part.isr, election: .unclean, isAcceptableLeader: active),
                     "UNCLEAN changes nothing while there is a leader")
        // Out-of-sync replicas only: ONLINE leaves no leader, UNCLEAN takes the first active replica.
        fence(1)
        var leaderless = part
        leaderless.leader = -1
        leaderless.isr = [1]
        XCTAssertNil(PartitionLeaderElection.change(topicID: t, partition: leaderless, targetIsr: [1], isAcceptableLeader: active))
        XCTAssertEqual(PartitionLeaderElection.change(topicID: t, partition: leaderless, targetIsr: [1], election: .unclean, isAcceptableLeader: active),
                       PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2]), "the ISR becomes the unclean leader alone")
    }

    // MARK: ElectLeaders

    func testPreferredElectionPerPartitionErrors() {
        brokers([1, 2, 3])
        let t = topic("t", [([1, 2, 3], [1, 2, 3], 2), ([2, 3], [2, 3], 2), ([3, 1], [1], 1), ([1, 2], [1, 2], 1)])
        fence(3)
        let (records, results) = ReplicationControl.electLeaders(image: image, type: .preferred, partitions: [
            ("t", [0, 1, 2, 7]), ("missing", [0]),
        ])
        XCTAssertEqual(records, [.partitionChange(PartitionChange(topicID: t, partition: 0, leader: 1))])
        XCTAssertEqual(results.map(\.error), [.none, .electionNotNeeded, .preferredLeaderNotAvailable, .unknownTopicOrPartition, .unknownTopicOrPartition])
        XCTAssertEqual(results.map(\.partition), [0, 1, 2, 7, 0])
        apply(records)
        XCTAssertEqual(p("t", 0).leader, 1)
        XCTAssertEqual(p("t", 0).leaderEpoch, 1)

        // All partitions: only those needing an election are answered.
        let all = ReplicationControl.electLeaders(image: image, type: .preferred, partitions: nil)
        XCTAssertEqual(all.records, [])
        XCTAssertEqual(all.results.map { "\($0.topic)-\($0.partition)" }, ["t-2"])
        XCTAssertEqual(all.results.first?.error, .preferredLeaderNotAvailable)
    }

    func testUncleanElection() {
        brokers([1, 2, 3])
        let t = topic("t", [([1, 2], [1], -1), ([1, 2], [1, 2], 2), ([1, 3], [1], -1)])
        fence(1)
        fence(3)
        let (records, results) = ReplicationControl.electLeaders(image: image, type: .unclean, partitions: [("t", [0, 1, 2])])
        XCTAssertEqual(results.map(\.error), [.none, .electionNotNeeded, .eligibleLeadersNotAvailable])
        XCTAssertEqual(records, [.partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2]))])
        apply(records)
        XCTAssertEqual(p("t", 0).leader, 2)
        XCTAssertEqual(p("t", 0).isr, [2])
    }

    // MARK: unclean.leader.election.enable

    func testFencingElectsAnOutOfSyncReplicaOnlyWhenUncleanIsEnabled() {
        for (topicConfig, brokerDefault, expectLeader) in [(nil, false, Int32(-1)), ("true", false, 2), (nil, true, 2), ("false", true, -1)] {
            setUp()
            brokers([1, 2])
            let configs = topicConfig.map { ["unclean.leader.election.enable": $0] } ?? [:]
            topic("t", [([1, 2], [1], 1)], configs: configs)
            let records = ClusterControl.fencingRecords(1, image: image, uncleanDefault: brokerDefault)
            apply(records)
            XCTAssertEqual(p("t", 0).leader, expectLeader, "topic \(topicConfig ?? "-") default \(brokerDefault)")
            XCTAssertEqual(p("t", 0).isr, expectLeader < 0 ? [1] : [2])
        }
    }

    func testClusterDefaultAndPeriodicUncleanElection() {
        brokers([1, 2])
        topic("t", [([1, 2], [1], -1)])
        fence(1)
        XCTAssertEqual(ReplicationControl.uncleanElections(image: image, brokerDefault: false), [], "off by default")
        image.apply(.config(resourceType: 4, resourceName: "", name: "unclean.leader.election.enable", value: "true"))
        apply(ReplicationControl.uncleanElections(image: image, brokerDefault: false))
        XCTAssertEqual(p("t", 0).leader, 2, "the cluster-wide dynamic default enables it")
        XCTAssertEqual(ReplicationControl.uncleanElections(image: image, brokerDefault: true), [], "nothing left to elect")
    }

    // MARK: auto.leader.rebalance.enable

    func testPreferredRebalanceHonoursTheImbalanceRatio() {
        brokers([1, 2, 3])
        // Broker 1 prefers 10 partitions and leads 9; broker 2 prefers 2 and leads neither.
        var parts: [([Int32], [Int32], Int32)] = Array(repeating: ([1, 2, 3], [1, 2, 3], 1), count: 9)
        parts.append(([1, 2, 3], [1, 2, 3], 3))
        parts.append(([2, 1, 3], [2, 1, 3], 1))
        parts.append(([2, 3, 1], [3, 1], 3))  // preferred out of the ISR: never moved
        let t = topic("t", parts)
        let records = ReplicationControl.preferredRebalance(image: image, imbalancePercentage: 10)
        XCTAssertEqual(records, [.partitionChange(PartitionChange(topicID: t, partition: 10, leader: 2))],
                       "broker 1 is 10% imbalanced (not above 10%), broker 2 100%")
        XCTAssertEqual(ReplicationControl.preferredRebalance(image: image, imbalancePercentage: 0).count, 2)
        XCTAssertEqual(ReplicationControl.preferredRebalance(image: image, imbalancePercentage: 0, maxElections: 1).count, 1)
        fence(2)
        XCTAssertEqual(ReplicationControl.preferredRebalance(image: image, imbalancePercentage: 0).count, 1, "a fenced preferred replica is not elected")
    }

    // MARK: Reassignment

    func testReassignmentRunsUntilTheNewReplicasJoinTheIsr() {
        brokers([1, 2, 3, 4])
        let t = topic("t", [([1, 2, 3], [1, 2, 3], 1)])
        let (records, results) = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false,
                                                                                requests: [("t", 0, [2, 3, 4])])
        XCTAssertEqual(results.map(\.error), [.none])
        XCTAssertEqual(records, [.partitionChange(PartitionChange(topicID: t, partition: 0, replicas: [2, 3, 4, 1],
                                                                  removingReplicas: [1], addingReplicas: [4]))])
        apply(records)
        XCTAssertEqual(p("t", 0).leader, 1, "the old leader keeps leading while it is a removing replica")
        XCTAssertEqual(ReplicationControl.listPartitionReassignments(image: image, topics: nil),
                       [.init(topic: "t", partition: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1])])
        XCTAssertEqual(ReplicationControl.completeReassignments(image: image), [], "4 is not in the ISR yet")

        // The new replica catches up and joins the ISR (an AlterPartition the isr code writes).
        image.apply(.partitionChange(PartitionChange(topicID: t, partition: 0, isr: [1, 2, 3, 4])))
        let done = ReplicationControl.completeReassignments(image: image)
        XCTAssertEqual(done, [.partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2, 3, 4], replicas: [2, 3, 4],
                                                               removingReplicas: [], addingReplicas: []))])
        apply(done)
        let final = p("t", 0)
        XCTAssertEqual(final.replicas, [2, 3, 4])
        XCTAssertEqual(final.leader, 2)
        XCTAssertEqual(final.leaderEpoch, 1)
        XCTAssertFalse(final.isReassigning)
        XCTAssertEqual(ReplicationControl.listPartitionReassignments(image: image, topics: nil), [])
    }

    func testShrinkingReassignmentCompletesAtOnceAndReorderingMovesNothing() {
        brokers([1, 2, 3])
        let t = topic("t", [([1, 2, 3], [1, 2, 3], 1), ([1, 2], [1, 2], 1)])
        let (records, _) = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false,
                                                                          requests: [("t", 0, [2, 3]), ("t", 1, [2, 1])])
        XCTAssertEqual(records, [
            .partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2, 3], replicas: [2, 3])),
            .partitionChange(PartitionChange(topicID: t, partition: 1, replicas: [2, 1])),
        ])
    }

    func testReassignmentErrors() {
        brokers([1, 2, 3])
        topic("t", [([1, 2], [1, 2], 1)])
        let (records, results) = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false, requests: [
            ("t", 0, []), ("t", 0, [1, 9]), ("t", 0, [2, 1, 2]), ("t", 5, [1]), ("nope", 0, [1]), ("t", 0, nil),
        ])
        XCTAssertEqual(records, [])
        XCTAssertEqual(results.map(\.error), [.invalidReplicaAssignment, .invalidReplicaAssignment, .invalidReplicaAssignment,
                                              .unknownTopicOrPartition, .unknownTopicOrPartition, .noReassignmentInProgress])
        XCTAssertEqual(results[1].message, "The manual partition assignment includes broker 9, but no such broker is registered.")
        XCTAssertEqual(results[2].message, "The manual partition assignment includes the broker 2 more than once.")
    }

    func testCancelRevertsToTheOriginalReplicas() {
        brokers([1, 2, 3, 4])
        let t = topic("t", [([1, 2], [1, 2], 1)])
        apply(ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false, requests: [("t", 0, [3, 4])]).records)
        XCTAssertEqual(p("t", 0).replicas, [3, 4, 1, 2])
        image.apply(.partitionChange(PartitionChange(topicID: t, partition: 0, isr: [1, 2, 3])))  // 3 caught up, 4 not yet
        let (records, results) = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false, requests: [("t", 0, nil)])
        XCTAssertEqual(results.map(\.error), [.none])
        apply(records)
        XCTAssertEqual(p("t", 0).replicas, [1, 2])
        XCTAssertEqual(p("t", 0).isr, [1, 2])
        XCTAssertEqual(p("t", 0).leader, 1)
        XCTAssertFalse(p("t", 0).isReassigning)
    }

    func testCancelThatNeedsAnUncleanElectionIsRefusedUnlessEnabled() {
        brokers([1, 2, 3])
        let t = topic("t", [([1], [1], 1)])
        apply(ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false, requests: [("t", 0, [2, 3])]).records)
        // Only new replicas in the ISR (the old one fell out): reverting needs an unclean election.
        image.apply(.partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2])))
        let refused = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: false, requests: [("t", 0, nil)])
        XCTAssertEqual(refused.results.first?.error, .invalidReplicaAssignment)
        XCTAssertEqual(refused.records, [])
        let allowed = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: true, requests: [("t", 0, nil)])
        XCTAssertEqual(allowed.results.first?.error, ErrorCode.none)
        apply(allowed.records)
        XCTAssertEqual(p("t", 0).replicas, [1])
        XCTAssertEqual(p("t", 0).leader, 1)
    }

    func testReassignmentStateSurvivesKafkasRecordEncoding() throws {
        let id = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2)
        let records: [MetadataRecord] = [
            .partition(topicID: id, PartitionRegistration(partition: 0, replicas: [2, 3, 1], isr: [1, 2], leader: 1, leaderEpoch: 4,
                                                          partitionEpoch: 9, removingReplicas: [1], addingReplicas: [3])),
            .partitionChange(PartitionChange(topicID: id, partition: 0, replicas: [2, 3], removingReplicas: [], addingReplicas: [])),
        ]
        for r in records {
            XCTAssertEqual(try MetadataRecordCodec.decode(try MetadataRecordCodec.encode(r)), r)
        }
    }
}
