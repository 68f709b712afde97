import XCTest
@testable import KafkaClient

final class AssignorTests: XCTestCase {
    private func tps(_ topic: String, _ partitions: Int32...) -> [TopicPartition] {
        partitions.map { TopicPartition(topic, $0) }
    }

    func testRangeMatchesKafkaExample() {
        // Kafka's RangeAssignor doc: C0, C1 subscribe t0, t1 with 3 partitions each.
        let members = [GroupMemberSubscription(memberId: "C1", topics: ["t0", "t1"]),
                       GroupMemberSubscription(memberId: "C0", topics: ["t0", "t1"])]
        let result = RangeAssignor().assign(members: members, partitionCounts: ["t0": 3, "t1": 3])
        XCTAssertEqual(result["C0"], tps("t0", 0, 1) + tps("t1", 0, 1))
        XCTAssertEqual(result["C1"], tps("t0", 2) + tps("t1", 2))
    }

    func testRangeStaticMembersSortFirst() {
        let members = [GroupMemberSubscription(memberId: "a", topics: ["t"]),
                       GroupMemberSubscription(memberId: "z", groupInstanceId: "static", topics: ["t"])]
        let result = RangeAssignor().assign(members: members, partitionCounts: ["t": 3])
        XCTAssertEqual(result["z"], tps("t", 0, 1))
        XCTAssertEqual(result["a"], tps("t", 2))
    }

    func testRoundRobinMatchesKafkaExample() {
        // Kafka's RoundRobinAssignor doc: C0 subscribes t0; C1 t0, t1; C2 t0, t1, t2.
        // t0 has 1, t1 2, t2 3 partitions.
        let members = [GroupMemberSubscription(memberId: "C0", topics: ["t0"]),
                       GroupMemberSubscription(memberId: "C1", topics: ["t0", "t1"]),
                       GroupMemberSubscription(memberId: "C2", topics: ["t0", "t1", "t2"])]
        let result = RoundRobinAssignor().assign(members: members, partitionCounts: ["t0": 1, "t1": 2, "t2": 3])
        XCTAssertEqual(result["C0"], tps("t0", 0))
        XCTAssertEqual(result["C1"], tps("t1", 0))
        XCTAssertEqual(result["C2"], tps("t1", 1) + tps("t2", 0, 1, 2))
    }

    func testAssignorsSkipMissingTopicsAndGiveEveryMemberAnEntry() {
        let members = [GroupMemberSubscription(memberId: "a", topics: ["missing"]),
                       GroupMemberSubscription(memberId: "b", topics: ["t"])]
        for name in AssignorName.allCases {
            let result = name.assignor.assign(members: members, partitionCounts: ["t": 2])
            XCTAssertEqual(result["a"], [], "\(name)")
            XCTAssertEqual(result["b"], tps("t", 0, 1), "\(name)")
        }
    }

    func testCooperativeStickyFreshGroupIsBalanced() {
        let members = (0..<3).map { GroupMemberSubscription(memberId: "m\($0)", topics: ["t"]) }
        let result = CooperativeStickyAssignor().assign(members: members, partitionCounts: ["t": 7])
        let counts = result.values.map(\.count).sorted()
        XCTAssertEqual(counts, [2, 2, 3])
        XCTAssertEqual(Set(result.values.joined()).count, 7)
    }

    func testCooperativeStickyWithholdsMovingPartitionsForOneRound() {
        // m0 owned all 4 partitions; m1 joins. Round 1: m0 keeps 2, m1 gets nothing yet
        // (the 2 it will get are still owned by m0). Round 2 (m0 revoked them): m1 gets them.
        let round1 = CooperativeStickyAssignor().assign(members: [
            GroupMemberSubscription(memberId: "m0", topics: ["t"], ownedPartitions: tps("t", 0, 1, 2, 3), generationId: 1),
            GroupMemberSubscription(memberId: "m1", topics: ["t"]),
        ], partitionCounts: ["t": 4])
        XCTAssertEqual(round1["m0"], tps("t", 0, 1))
        XCTAssertEqual(round1["m1"], [])
        let round2 = CooperativeStickyAssignor().assign(members: [
            GroupMemberSubscription(memberId: "m0", topics: ["t"], ownedPartitions: round1["m0"]!, generationId: 2),
            GroupMemberSubscription(memberId: "m1", topics: ["t"], ownedPartitions: [], generationId: 2),
        ], partitionCounts: ["t": 4])
        XCTAssertEqual(round2["m0"], tps("t", 0, 1))
        XCTAssertEqual(round2["m1"], tps("t", 2, 3))
    }

    func testCooperativeStickyKeepsOwnershipWhenAMemberLeaves() {
        let result = CooperativeStickyAssignor().assign(members: [
            GroupMemberSubscription(memberId: "a", topics: ["t"], ownedPartitions: tps("t", 0, 3), generationId: 5),
            GroupMemberSubscription(memberId: "b", topics: ["t"], ownedPartitions: tps("t", 1, 4), generationId: 5),
        ], partitionCounts: ["t": 6])
        // c (owning 2 and 5) left: a and b keep theirs and share the orphans.
        XCTAssertTrue(Set(result["a"]!).isSuperset(of: tps("t", 0, 3)))
        XCTAssertTrue(Set(result["b"]!).isSuperset(of: tps("t", 1, 4)))
        XCTAssertEqual(result["a"]!.count, 3)
        XCTAssertEqual(result["b"]!.count, 3)
    }

    func testCooperativeStickyHigherGenerationWinsAClaim() {
        let result = CooperativeStickyAssignor().assign(members: [
            GroupMemberSubscription(memberId: "old", topics: ["t"], ownedPartitions: tps("t", 0), generationId: 3),
            GroupMemberSubscription(memberId: "new", topics: ["t"], ownedPartitions: tps("t", 0), generationId: 4),
        ], partitionCounts: ["t": 2])
        XCTAssertEqual(result["new"], tps("t", 0))
        XCTAssertEqual(result["old"], tps("t", 1))
    }

    func testCooperativeStickyNeverDoubleAssigns() {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<200 {
            let memberCount = Int.random(in: 1...5, using: &rng)
            let partitionCount = Int32.random(in: 1...12, using: &rng)
            var members: [GroupMemberSubscription] = []
            for m in 0..<memberCount {
                let owned = (0..<partitionCount).filter { _ in Bool.random(using: &rng) }.map { TopicPartition("t", $0) }
                members.append(GroupMemberSubscription(memberId: "m\(m)", topics: ["t"], ownedPartitions: owned,
                                                       generationId: Int32.random(in: 1...3, using: &rng)))
            }
            let result = CooperativeStickyAssignor().assign(members: members, partitionCounts: ["t": partitionCount])
            let all = result.values.flatMap { $0 }
            XCTAssertEqual(all.count, Set(all).count, "a partition was assigned twice")
        }
    }
}
