import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// ElectLeaders (43), AlterPartitionReassignments (45), ListPartitionReassignments (46) and the
/// KIP-951 leader hint in Produce, through the handler table of a broker without sockets.
final class ElectLeadersHandlerTests: XCTestCase {
    /// Harness broker 1 plus brokers 2 and 3 registered and unfenced; topic "t" with
    /// partition 0 on [2, 1] led by 1 (not preferred) and partition 1 on [1, 2] led by 1.
    func makeHarness() throws -> (BrokerHarness, TopicID) {
        let h = try BrokerHarness()
        for id: Int32 in [2, 3] {
            try h.services.controller.registerBroker(.init(id: id, endpoints: [.init(listener: "PLAINTEXT", host: "10.0.0.\(id)", port: 9092)],
                                                          rack: "r\(id)", fenced: false))
        }
        _ = try h.services.controller.createTopic(name: "t", numPartitions: -1, replicationFactor: -1, assignments: [0: [2, 1], 1: [1, 2]])
        let id = h.services.metadata.image.topics["t"]!.id
        try h.services.controller.store.commit([.partitionChange(PartitionChange(topicID: id, partition: 0, leader: 1))])
        return (h, id)
    }

    func testPreferredElectionAllVersions() async throws {
        for v in ElectLeadersHandler.versions {
            let (h, _) = try makeHarness()
            defer { h.cleanup() }
            var req = ElectLeadersRequest()
            req.electionType = 0
            req.topicPartitions = [.init(topic: "t", partitions: [0, 1, 4]), .init(topic: "nope", partitions: [0])]
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            XCTAssertEqual(resp.errorCode, 0)
            let codes = resp.replicaElectionResults.flatMap { t in t.partitionResult.map { "\(t.topic)-\($0.partitionId):\($0.errorCode)" } }
            XCTAssertEqual(codes, ["t-0:0", "t-1:\(ErrorCode.electionNotNeeded.rawValue)", "t-4:3", "nope-0:3"], "v\(v)")
            let p0 = h.services.metadata.image.partition("t", 0)!
            XCTAssertEqual(p0.leader, 2, "v\(v): leadership back on the preferred replica")
            XCTAssertEqual(p0.leaderEpoch, 2)
        }
    }

    func testAllPartitionsAndUncleanAndBadType() async throws {
        let (h, id) = try makeHarness()
        defer { h.cleanup() }
        var req = ElectLeadersRequest()
        req.topicPartitions = nil
        let all = try XCTUnwrapAsync(try await h.send(req, version: 2))
        XCTAssertEqual(all.replicaElectionResults.map(\.topic), ["t"])
        XCTAssertEqual(all.replicaElectionResults.first?.partitionResult.map(\.partitionId), [0], "only partitions that needed an election")

        // Partition 1 loses its leader with only broker 1 in the ISR, and broker 1 is fenced:
        // an unclean election picks broker 2.
        try h.services.controller.store.commit([
            .partitionChange(PartitionChange(topicID: id, partition: 1, leader: -1, isr: [1])),
            .brokerRegistrationChange(id: 1, epoch: 0, fenced: true, inControlledShutdown: nil),
        ])
        req.electionType = 1
        req.topicPartitions = [.init(topic: "t", partitions: [1])]
        let unclean = try XCTUnwrapAsync(try await h.send(req, version: 1))
        XCTAssertEqual(unclean.replicaElectionResults.first?.partitionResult.first?.errorCode, 0)
        XCTAssertEqual(h.services.metadata.image.partition("t", 1)?.leader, 2)
        XCTAssertEqual(h.services.metadata.image.partition("t", 1)?.isr, [2])

        req.electionType = 7
        let bad = try XCTUnwrapAsync(try await h.send(req, version: 2))
        XCTAssertEqual(bad.errorCode, ErrorCode.invalidRequest.rawValue)
        XCTAssertEqual(bad.replicaElectionResults.first?.partitionResult.first?.errorCode, ErrorCode.invalidRequest.rawValue)
    }

    func testReassignListAndCancel() async throws {
        let (h, _) = try makeHarness()
        defer { h.cleanup() }
        var alter = AlterPartitionReassignmentsRequest()
        alter.topics = [.init(name: "t", partitions: [.init(partitionIndex: 0, replicas: [1, 3]), .init(partitionIndex: 1, replicas: [1, 9]),
                                                      .init(partitionIndex: 1, replicas: nil)]),
                        .init(name: "nope", partitions: [.init(partitionIndex: 0, replicas: [1])])]
        let resp = try XCTUnwrapAsync(try await h.send(alter, version: 0))
        XCTAssertEqual(resp.errorCode, 0)
        XCTAssertEqual(resp.responses.flatMap { t in t.partitions.map(\.errorCode) },
                       [0, ErrorCode.invalidReplicaAssignment.rawValue, ErrorCode.noReassignmentInProgress.rawValue,
                        ErrorCode.unknownTopicOrPartition.rawValue])
        let p0 = h.services.metadata.image.partition("t", 0)!
        XCTAssertEqual(p0.replicas, [1, 3, 2])
        XCTAssertEqual(p0.addingReplicas, [3])
        XCTAssertEqual(p0.removingReplicas, [2])

        var list = ListPartitionReassignmentsRequest()
        list.topics = nil
        let listed = try XCTUnwrapAsync(try await h.send(list, version: 0))
        XCTAssertEqual(listed.topics.map(\.name), ["t"])
        XCTAssertEqual(listed.topics.first?.partitions, [.init(partitionIndex: 0, replicas: [1, 3, 2], addingReplicas: [3], removingReplicas: [2])])
        list.topics = [.init(name: "t", partitionIndexes: [1]), .init(name: "nope", partitionIndexes: [0])]
        let none = try XCTUnwrapAsync(try await h.send(list, version: 0))
        XCTAssertEqual(none.topics, [], "partitions not reassigning and unknown topics are left out")

        alter.topics = [.init(name: "t", partitions: [.init(partitionIndex: 0, replicas: nil)])]
        let cancelled = try XCTUnwrapAsync(try await h.send(alter, version: 0))
        XCTAssertEqual(cancelled.responses.first?.partitions.first?.errorCode, 0)
        XCTAssertEqual(h.services.metadata.image.partition("t", 0)?.replicas, [1, 2],
                       "Kafka's revert keeps the running order of the original replicas (target first)")
        XCTAssertFalse(h.services.metadata.image.partition("t", 0)!.isReassigning)
    }

    /// Fetch v13+ names topics by id, v16 adds the new leader's endpoint to the hint (KIP-951).
    func testFetchByTopicIdAndTheLeaderHintWithItsEndpoint() async throws {
        let (h, _) = try makeHarness()
        defer { h.cleanup() }
        let id = try XCTUnwrap(h.services.metadata.image.topics["t"]?.id)
        var elect = ElectLeadersRequest()
        elect.topicPartitions = [.init(topic: "t", partitions: [0])]
        _ = try await h.send(elect, version: 2)
        func fetch(_ topicId: KafkaUUID, version: Int16) async throws -> FetchResponse {
            var req = FetchRequest()
            req.maxWaitMs = 0
            req.topics = [.init(topic: "", topicId: topicId, partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
            return try XCTUnwrapAsync(try await h.send(req, version: version))
        }
        for v: Int16 in [13, 15, 16] {
            let resp = try await fetch(id, version: v)
            XCTAssertEqual(resp.responses.first?.topicId, id, "v\(v)")
            let p = try XCTUnwrap(resp.responses.first?.partitions.first)
            XCTAssertEqual(p.errorCode, ErrorCode.notLeaderOrFollower.rawValue, "v\(v): found by id, led elsewhere")
            XCTAssertEqual(p.currentLeader, .init(leaderId: 2, leaderEpoch: 2))
            XCTAssertEqual(resp.nodeEndpoints, v >= 16 ? [.init(nodeId: 2, host: "10.0.0.2", port: 9092, rack: "r2")] : [])
        }
        let unknown = try await fetch(KafkaUUID.random(), version: 13)
        XCTAssertEqual(unknown.responses.first?.partitions.first?.errorCode, ErrorCode.unknownTopicId.rawValue)
    }

    func testProduceToAFollowerCarriesTheLeaderHint() async throws {
        let (h, _) = try makeHarness()
        defer { h.cleanup() }
        var elect = ElectLeadersRequest()
        elect.topicPartitions = [.init(topic: "t", partitions: [0])]
        _ = try await h.send(elect, version: 2)
        var produce = ProduceRequest()
        produce.acks = 1
        produce.timeoutMs = 1000
        produce.topicData = [.init(name: "t", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["a"]))])]
        for v: Int16 in [9, 10] {
            let resp = try XCTUnwrapAsync(try await h.send(produce, version: v))
            let p = try XCTUnwrap(resp.responses.first?.partitionResponses.first)
            XCTAssertEqual(p.errorCode, ErrorCode.notLeaderOrFollower.rawValue)
            if v >= 10 {
                XCTAssertEqual(p.currentLeader, .init(leaderId: 2, leaderEpoch: 2))
                XCTAssertEqual(resp.nodeEndpoints, [.init(nodeId: 2, host: "10.0.0.2", port: 9092, rack: "r2")])
            } else {
                XCTAssertEqual(resp.nodeEndpoints, [])
            }
        }
    }
}
