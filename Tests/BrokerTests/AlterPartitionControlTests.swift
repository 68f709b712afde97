import XCTest
@testable import Broker
import KafkaProtocol
import NIOCore

/// The controller's AlterPartition validation (notes §3.4), one test per row of Kafka's table
/// in its order, plus the success path and the broker-epoch check.
final class AlterPartitionControlTests: XCTestCase {
    let topicID = KafkaUUID(mostSignificantBits: 7, leastSignificantBits: 9)
    var image = MetadataImage(clusterId: "c", controllerId: 100)

    override func setUp() {
        image = MetadataImage(clusterId: "c", controllerId: 100)
        for (id, epoch) in [(1, 10), (2, 20), (3, 30), (4, 40)] as [(Int32, Int64)] {
            image.apply(.registerBroker(BrokerRegistration(id: id, endpoints: [], rack: nil, fenced: false, epoch: epoch)))
        }
        image.apply(.topic(name: "t", id: topicID))
        // Partition 0: leader 1, replicas 1,2,3, ISR 1,2, leader epoch 5, partition epoch 8.
        image.apply(.partition(topicID: topicID, PartitionRegistration(partition: 0, replicas: [1, 2, 3], isr: [1, 2], leader: 1,
                                                                      leaderEpoch: 5, partitionEpoch: 8)))
    }

    func request(isr: [Int32], epochs: [Int64]? = nil, leaderEpoch: Int32 = 5, partitionEpoch: Int32 = 8, partition: Int32 = 0,
                 brokerId: Int32 = 1, brokerEpoch: Int64 = 10, topicId: KafkaUUID? = nil, recovery: Int8 = 0) -> AlterPartitionRequest {
        var p = AlterPartitionRequest.PartitionData()
        p.partitionIndex = partition
        p.leaderEpoch = leaderEpoch
        p.partitionEpoch = partitionEpoch
        p.leaderRecoveryState = recovery
        p.newIsr = isr
        p.newIsrWithEpochs = zip(isr, epochs ?? isr.map { _ in -1 }).map { .init(brokerId: $0, brokerEpoch: $1) }
        var t = AlterPartitionRequest.TopicData()
        t.topicId = topicId ?? topicID
        t.topicName = "t"
        t.partitions = [p]
        return AlterPartitionRequest(brokerId: brokerId, brokerEpoch: brokerEpoch, topics: [t])
    }

    func run(_ r: AlterPartitionRequest, version: Int16 = 3) -> AlterPartitionControl.Outcome {
        AlterPartitionControl.alterPartition(r, version: version, image: image)
    }

    func code(_ r: AlterPartitionRequest, version: Int16 = 3) -> ErrorCode {
        let o = run(r, version: version)
        XCTAssertEqual(o.records, [], "a refused change writes nothing")
        if o.response.errorCode != 0 { return ErrorCode(rawValue: o.response.errorCode) }
        return ErrorCode(rawValue: o.response.topics[0].partitions[0].errorCode)
    }

    func testExpansionWritesARecordAndAnswersTheNewState() {
        let o = run(request(isr: [1, 2, 3], epochs: [10, 20, 30]))
        XCTAssertEqual(o.records, [.partitionChange(PartitionChange(topicID: topicID, partition: 0, isr: [1, 2, 3]))])
        let p = o.response.topics[0].partitions[0]
        XCTAssertEqual(p.errorCode, 0)
        XCTAssertEqual(p.isr, [1, 2, 3])
        XCTAssertEqual(p.leaderId, 1)
        XCTAssertEqual(p.leaderEpoch, 5, "an ISR change keeps the leader epoch")
        XCTAssertEqual(p.partitionEpoch, 9, "and bumps the partition epoch")
        XCTAssertEqual(o.response.topics[0].topicId, topicID)
        for r in o.records { image.apply(r) }
        XCTAssertEqual(image.topics["t"]?.partitions[0].isr, [1, 2, 3])
        XCTAssertEqual(image.topics["t"]?.partitions[0].partitionEpoch, 9)
    }

    func testShrinkAndUnchangedIsr() {
        let shrink = run(request(isr: [1]))
        XCTAssertEqual(shrink.response.topics[0].partitions[0].isr, [1])
        XCTAssertEqual(shrink.records.count, 1)
        let same = run(request(isr: [1, 2]))
        XCTAssertEqual(same.records, [], "the ISR it already has: no record")
        XCTAssertEqual(same.response.topics[0].partitions[0].partitionEpoch, 8)
        XCTAssertEqual(same.response.topics[0].partitions[0].errorCode, 0)
    }

    func testStaleBrokerEpochIsTopLevel() {
        XCTAssertEqual(code(request(isr: [1], brokerEpoch: 11)), .staleBrokerEpoch)
        XCTAssertEqual(code(request(isr: [1], brokerId: 9, brokerEpoch: 10)), .staleBrokerEpoch, "unregistered sender")
    }

    func testUnknownTopicAndPartition() {
        XCTAssertEqual(code(request(isr: [1], topicId: KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 1))), .unknownTopicId)
        XCTAssertEqual(code(request(isr: [1], topicId: .zero)), .unknownTopicId)
        var byName = request(isr: [1])
        byName.topics[0].topicName = "nope"
        XCTAssertEqual(code(byName, version: 1), .unknownTopicOrPartition, "v0-1 name the topic")
        XCTAssertEqual(code(request(isr: [1], partition: 1)), .unknownTopicOrPartition)
        XCTAssertEqual(code(request(isr: [1], partition: -1)), .unknownTopicOrPartition)
    }

    func testNewerEpochsMeanNotController() {
        XCTAssertEqual(code(request(isr: [1], leaderEpoch: 6)), .notController)
        XCTAssertEqual(code(request(isr: [1], partitionEpoch: 9)), .notController)
    }

    func testOlderLeaderEpochIsFenced() {
        XCTAssertEqual(code(request(isr: [1], leaderEpoch: 4)), .fencedLeaderEpoch)
        XCTAssertEqual(code(request(isr: [1], leaderEpoch: 4, partitionEpoch: 7)), .fencedLeaderEpoch, "checked before the partition epoch")
    }

    func testSenderNotLeaderIsInvalidRequest() {
        XCTAssertEqual(code(request(isr: [2], brokerId: 2, brokerEpoch: 20)), .invalidRequest)
        XCTAssertEqual(code(request(isr: [2], partitionEpoch: 7, brokerId: 2, brokerEpoch: 20)), .invalidRequest,
                       "checked before the partition epoch")
    }

    func testOlderPartitionEpochIsInvalidUpdateVersion() {
        XCTAssertEqual(code(request(isr: [1], partitionEpoch: 7)), .invalidUpdateVersion)
    }

    func testBadIsrIsInvalidRequest() {
        XCTAssertEqual(code(request(isr: [1, 4])), .invalidRequest, "4 is not a replica")
        XCTAssertEqual(code(request(isr: [1, 2, 2])), .invalidRequest, "duplicate")
        XCTAssertEqual(code(request(isr: [2, 3])), .invalidRequest, "without the leader")
        XCTAssertEqual(code(request(isr: [])), .invalidRequest, "empty")
    }

    func testRecoveringStatesAreInvalidRequest() {
        XCTAssertEqual(code(request(isr: [1, 2], recovery: 1)), .invalidRequest, "RECOVERING with two members")
        XCTAssertEqual(code(request(isr: [1], recovery: 1)), .invalidRequest, "RECOVERED -> RECOVERING")
        XCTAssertEqual(code(request(isr: [1], recovery: 7)), .invalidRequest, "unknown state")
    }

    func testIneligibleReplicas() {
        image.apply(.brokerRegistrationChange(id: 3, epoch: 30, fenced: true, inControlledShutdown: nil))
        XCTAssertEqual(code(request(isr: [1, 2, 3])), .ineligibleReplica, "fenced")
        XCTAssertEqual(code(request(isr: [1, 2, 3]), version: 1), .operationNotAttempted, "v0-1 code")
        image.apply(.brokerRegistrationChange(id: 3, epoch: 30, fenced: false, inControlledShutdown: true))
        XCTAssertEqual(code(request(isr: [1, 2, 3])), .ineligibleReplica, "shutting down")
        image.apply(.brokerRegistrationChange(id: 3, epoch: 30, fenced: nil, inControlledShutdown: false))
        XCTAssertEqual(code(request(isr: [1, 2, 3], epochs: [10, 20, 29])), .ineligibleReplica, "broker epoch mismatch")
        XCTAssertEqual(run(request(isr: [1, 2, 3], epochs: [10, 20, -1])).response.topics[0].partitions[0].errorCode, 0,
                       "-1 skips the epoch check")
        image.apply(.unregisterBroker(id: 3, epoch: 30))
        XCTAssertEqual(code(request(isr: [1, 2, 3])), .ineligibleReplica, "unregistered")
    }

    func testOlderVersionsUseNewIsrAndNames() {
        var r = request(isr: [1, 2, 3])
        r.topics[0].partitions[0].newIsrWithEpochs = []
        r.topics[0].topicId = .zero
        let o = run(r, version: 1)
        XCTAssertEqual(o.response.topics[0].partitions[0].isr, [1, 2, 3])
        XCTAssertEqual(o.response.topics[0].topicName, "t")
        // And the response encodes at every version.
        for v in AlterPartitionResponse.validVersions where v >= 2 {
            var buf = ByteBuffer()
            XCTAssertNoThrow(try run(request(isr: [1, 2, 3]), version: v).response.encode(into: &buf, version: v))
        }
    }

    func testPartitionsOfOneRequestSeeEachOther() {
        var r = request(isr: [1, 2, 3])
        var second = r.topics[0].partitions[0]
        second.newIsrWithEpochs = [.init(brokerId: 1, brokerEpoch: 10)]
        r.topics[0].partitions.append(second)
        let o = run(r)
        XCTAssertEqual(o.response.topics[0].partitions[0].errorCode, 0)
        XCTAssertEqual(ErrorCode(rawValue: o.response.topics[0].partitions[1].errorCode), .invalidUpdateVersion,
                       "the second entry carries the partition epoch the first one already moved past")
        XCTAssertEqual(o.records.count, 1)
    }
}
