import NIOCore
import XCTest
@testable import KafkaClient

final class ConsumerProtocolTests: XCTestCase {
    func testSubscriptionRoundTripKeepsOwnedPartitionsAndGeneration() throws {
        let s = GroupMemberSubscription(memberId: "m", topics: ["a", "b"], userData: [1, 2],
                                        ownedPartitions: [TopicPartition("a", 1), TopicPartition("a", 0), TopicPartition("b", 3)],
                                        generationId: 7)
        let bytes = try ConsumerProtocol.encodeSubscription(s)
        XCTAssertEqual(bytes.getInteger(at: bytes.readerIndex, as: Int16.self), 3)
        let decoded = try ConsumerProtocol.decodeSubscription(bytes, memberId: "m", groupInstanceId: nil)
        XCTAssertEqual(decoded.topics, ["a", "b"])
        XCTAssertEqual(decoded.userData, [1, 2])
        XCTAssertEqual(Set(decoded.ownedPartitions), Set(s.ownedPartitions))
        XCTAssertEqual(decoded.generationId, 7)
    }

    /// A v0 subscription as librdkafka 2.0 / kafka-python write it: version 0, one topic, null user data.
    func testDecodesHandBuiltV0Subscription() throws {
        var b = ByteBuffer()
        b.writeInteger(Int16(0))
        b.writeInteger(Int32(1))
        b.writeInteger(Int16(5))
        b.writeString("topic")
        b.writeInteger(Int32(-1))
        let decoded = try ConsumerProtocol.decodeSubscription(b, memberId: "x", groupInstanceId: "static")
        XCTAssertEqual(decoded.topics, ["topic"])
        XCTAssertNil(decoded.userData)
        XCTAssertEqual(decoded.ownedPartitions, [])
        XCTAssertEqual(decoded.generationId, -1)
        XCTAssertEqual(decoded.groupInstanceId, "static")
    }

    /// A newer version than we know decodes with our newest layout; trailing bytes are ignored.
    func testDecodesFutureVersionAssignment() throws {
        var b = try ConsumerProtocol.encodeAssignment([TopicPartition("t", 2), TopicPartition("t", 0)])
        b.setInteger(Int16(9), at: b.readerIndex)
        b.writeBytes([0xde, 0xad])
        XCTAssertEqual(try ConsumerProtocol.decodeAssignment(b), [TopicPartition("t", 0), TopicPartition("t", 2)])
    }

    func testEmptyAssignmentBytesMeanNoPartitions() throws {
        XCTAssertEqual(try ConsumerProtocol.decodeAssignment(ByteBuffer()), [])
    }

    func testTruncatedSubscriptionIsATypedError() {
        var b = ByteBuffer()
        b.writeInteger(Int16(0))
        b.writeInteger(Int32(3))
        XCTAssertThrowsError(try ConsumerProtocol.decodeSubscription(b, memberId: "m", groupInstanceId: nil))
    }

    func testTopicPartitionOrderingAndDescription() {
        XCTAssertLessThan(TopicPartition("a", 9), TopicPartition("b", 0))
        XCTAssertLessThan(TopicPartition("a", 1), TopicPartition("a", 2))
        XCTAssertEqual(TopicPartition("orders", 3).description, "orders-3")
    }
}
