import XCTest
@testable import Broker

/// Kafka's StripedReplicaPlacer rules: rack spread first, then broker spread, unfenced leaders,
/// the stripe continued by CreatePartitions, Kafka's INVALID_REPLICATION_FACTOR messages.
final class StripedReplicaPlacerTests: XCTestCase {
    typealias B = StripedReplicaPlacer.UsableBroker

    func brokers(_ n: Int, racks: Int = 0, fenced: Set<Int32> = []) -> [B] {
        (1...n).map { i in B(id: Int32(i), rack: racks > 0 ? "r\(i % racks)" : nil, fenced: fenced.contains(Int32(i))) }
    }

    func testNoRacksSpreadsReplicasAndLeadersEvenly() throws {
        var rng = SeededRandom(seed: 1)
        let placed = try StripedReplicaPlacer.place(partitions: 60, replicationFactor: 3, brokers: brokers(6), random: &rng)
        XCTAssertEqual(placed.count, 60)
        for r in placed { XCTAssertEqual(Set(r).count, 3, "never two replicas on one broker: \(r)") }
        let leaders = Dictionary(grouping: placed.map { $0[0] }, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(leaders.count, 6)
        XCTAssertEqual(leaders.values.max(), 10, "leaders spread evenly: \(leaders)")
        let replicas = Dictionary(grouping: placed.flatMap { $0 }, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(replicas.values.min(), 30)
        XCTAssertEqual(replicas.values.max(), 30)
    }

    func testRackAwareEveryPartitionSpansRacks() throws {
        var rng = SeededRandom(seed: 7)
        let bs = brokers(9, racks: 3)
        let rackOf = Dictionary(uniqueKeysWithValues: bs.map { ($0.id, $0.rack!) })
        let placed = try StripedReplicaPlacer.place(partitions: 30, replicationFactor: 3, brokers: bs, random: &rng)
        for r in placed { XCTAssertEqual(Set(r.map { rackOf[$0]! }).count, 3, "one replica per rack: \(r)") }
        // rf 2 in 3 racks: still two racks per partition, and every rack leads a third.
        let two = try StripedReplicaPlacer.place(partitions: 30, replicationFactor: 2, brokers: bs, random: &rng)
        for r in two { XCTAssertEqual(Set(r.map { rackOf[$0]! }).count, 2) }
        let leaderRacks = Dictionary(grouping: two.map { rackOf[$0[0]]! }, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(leaderRacks.values.sorted(), [10, 10, 10])
    }

    func testMoreReplicasThanRacksUsesRacksTwice() throws {
        var rng = SeededRandom(seed: 3)
        let bs = [B(id: 1, rack: "a", fenced: false), B(id: 2, rack: "a", fenced: false), B(id: 3, rack: "b", fenced: false)]
        let placed = try StripedReplicaPlacer.place(partitions: 5, replicationFactor: 3, brokers: bs, random: &rng)
        for r in placed { XCTAssertEqual(Set(r), [1, 2, 3]) }
    }

    func testLeaderIsNeverFencedAndFencedBrokersAreUsedLast() throws {
        var rng = SeededRandom(seed: 11)
        let placed = try StripedReplicaPlacer.place(partitions: 20, replicationFactor: 3, brokers: brokers(4, fenced: [2]), random: &rng)
        for r in placed { XCTAssertNotEqual(r[0], 2, "a fenced broker never leads a new partition") }
        // rf 3 with 3 unfenced brokers: the fenced one is not needed.
        XCTAssertTrue(placed.allSatisfy { !$0.contains(2) }, "\(placed)")
        let needed = try StripedReplicaPlacer.place(partitions: 4, replicationFactor: 4, brokers: brokers(4, fenced: [2]), random: &rng)
        XCTAssertTrue(needed.allSatisfy { $0.contains(2) && $0[0] != 2 })
    }

    func testKafkasRefusals() {
        var rng = SeededRandom(seed: 5)
        XCTAssertThrowsError(try StripedReplicaPlacer.place(partitions: 1, replicationFactor: 4, brokers: brokers(3), random: &rng)) {
            XCTAssertEqual(($0 as? StripedReplicaPlacer.PlacementError)?.message,
                           "The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.")
        }
        XCTAssertThrowsError(try StripedReplicaPlacer.place(partitions: 1, replicationFactor: 1, brokers: brokers(2, fenced: [1, 2]), random: &rng)) {
            XCTAssertEqual(($0 as? StripedReplicaPlacer.PlacementError)?.message, "All brokers are currently fenced.")
        }
        XCTAssertThrowsError(try StripedReplicaPlacer.place(partitions: 1, replicationFactor: 0, brokers: brokers(2), random: &rng)) {
            XCTAssertEqual(($0 as? StripedReplicaPlacer.PlacementError)?.message, "Invalid replication factor 0: the replication factor must be positive.")
        }
    }

    func testCreatePartitionsContinuesTheStripe() throws {
        var rng = SeededRandom(seed: 9)
        let bs = brokers(5)
        let first = try StripedReplicaPlacer.place(partitions: 3, replicationFactor: 1, brokers: bs, random: &rng)
        let more = try StripedReplicaPlacer.place(partitions: 2, replicationFactor: 1, brokers: bs, existing: first, random: &rng)
        XCTAssertEqual(Set((first + more).map { $0[0] }).count, 5, "5 single-replica partitions on 5 brokers land on all five: \(first) + \(more)")
    }

    func testSameSeedSamePlacement() throws {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42)
        XCTAssertEqual(try StripedReplicaPlacer.place(partitions: 10, replicationFactor: 2, brokers: brokers(5, racks: 2), random: &a),
                       try StripedReplicaPlacer.place(partitions: 10, replicationFactor: 2, brokers: brokers(5, racks: 2), random: &b))
    }

    func testUsableBrokersExcludeControlledShutdown() {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        image.apply(.registerBroker(BrokerRegistration(id: 1, endpoints: [], rack: "x", fenced: false)))
        image.apply(.registerBroker(BrokerRegistration(id: 2, endpoints: [], rack: nil, fenced: true)))
        image.apply(.registerBroker(BrokerRegistration(id: 3, endpoints: [], rack: nil, fenced: false, inControlledShutdown: true)))
        XCTAssertEqual(StripedReplicaPlacer.usableBrokers(image), [B(id: 1, rack: "x", fenced: false), B(id: 2, rack: nil, fenced: true)])
    }
}
