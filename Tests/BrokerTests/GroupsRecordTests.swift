import NIOCore
import XCTest
@testable import Broker

/// `__consumer_offsets` key/value formats against bytes written by hand from
/// ../shared/kafka-protocol/group-coordinator/*.json.
final class GroupsRecordTests: XCTestCase {
    func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

    func testOffsetCommitKeyVersion1() throws {
        let key = GroupRecordKey.offsetCommit(OffsetCommitKey(group: "g1", topic: "t", partition: 3))
        XCTAssertEqual(bytes(try key.encode()), [
            0x00, 0x01,                    // key version 1
            0x00, 0x02, 0x67, 0x31,        // group "g1"
            0x00, 0x01, 0x74,              // topic "t"
            0x00, 0x00, 0x00, 0x03,        // partition 3
        ])
        XCTAssertEqual(try GroupRecordKey.decode(try key.encode()), key)
        // Version 0 keys (written by Kafka before 0.10.1) have the same layout.
        XCTAssertEqual(try GroupRecordKey.decode(ByteBuffer(bytes: [0, 0, 0, 1, 0x61, 0, 1, 0x62, 0, 0, 0, 9])),
                       .offsetCommit(OffsetCommitKey(group: "a", topic: "b", partition: 9)))
    }

    func testGroupMetadataKeyAndForeignKeys() throws {
        let key = GroupRecordKey.groupMetadata(group: "grp")
        XCTAssertEqual(bytes(try key.encode()), [0x00, 0x02, 0x00, 0x03, 0x67, 0x72, 0x70])
        XCTAssertEqual(try GroupRecordKey.decode(ByteBuffer(bytes: [0x00, 0x03, 0x00, 0x00])), .other(version: 3),
                       "KIP-848 records are recognised as not ours")
        XCTAssertThrowsError(try GroupRecordKey.decode(ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x05, 0x61])))
    }

    func testOffsetCommitValueVersion3AndVersion1() throws {
        let v3 = OffsetCommitValue(offset: 42, leaderEpoch: 7, metadata: "m", commitTimestamp: 1_000)
        XCTAssertEqual(v3.preferredVersion, 3)
        XCTAssertEqual(bytes(try v3.encode()), [
            0x00, 0x03,                                     // value version 3
            0, 0, 0, 0, 0, 0, 0, 42,                        // offset
            0, 0, 0, 7,                                     // leaderEpoch
            0x00, 0x01, 0x6d,                               // metadata "m"
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,                   // commitTimestamp 1000
        ])
        XCTAssertEqual(try OffsetCommitValue.decode(try v3.encode()), v3)

        let v1 = OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 2, expireTimestamp: 3)
        XCTAssertEqual(v1.preferredVersion, 1, "a commit with a retention time keeps its expire timestamp")
        XCTAssertEqual(bytes(try v1.encode()), [
            0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3,
        ])
        XCTAssertEqual(try OffsetCommitValue.decode(try v1.encode()), v1)
    }

    func testOffsetCommitValueFlexibleVersion4IsRead() throws {
        // v4: compact string (length+1 as uvarint) and a tagged-field section, here with one
        // unknown tag that must be skipped.
        let raw: [UInt8] = [
            0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0x03, 0x6f, 0x6b,
            0, 0, 0, 0, 0, 0, 0, 5, 0x01, 0x07, 0x02, 0xaa, 0xbb,
        ]
        let value = try OffsetCommitValue.decode(ByteBuffer(bytes: raw))
        XCTAssertEqual(value, OffsetCommitValue(offset: 9, leaderEpoch: -1, metadata: "ok", commitTimestamp: 5))
        var reencoded = try value.encode(version: 4)
        XCTAssertEqual(reencoded.readBytes(length: 23), Array(raw[0..<23]))
        XCTAssertEqual(reencoded.readBytes(length: 1), [0x00], "no tagged fields written")
        XCTAssertThrowsError(try OffsetCommitValue.decode(ByteBuffer(bytes: Array(raw[0..<12]))))
        XCTAssertThrowsError(try OffsetCommitValue.decode(ByteBuffer(bytes: [0x00, 0x09])))
    }

    func testGroupMetadataValueVersion3() throws {
        let value = GroupMetadataValue(
            protocolType: "consumer", generation: 2, protocol: "range", leader: "m1", currentStateTimestamp: 10,
            members: [.init(memberId: "m1", groupInstanceId: nil, clientId: "c", clientHost: "/h",
                            rebalanceTimeout: 300, sessionTimeout: 100, subscription: ByteBuffer(bytes: [1, 2]),
                            assignment: ByteBuffer(bytes: [3]))])
        let expected: [UInt8] = [
            0x00, 0x03,                                                 // value version 3
            0x00, 0x08, 0x63, 0x6f, 0x6e, 0x73, 0x75, 0x6d, 0x65, 0x72, // protocolType "consumer"
            0, 0, 0, 2,                                                 // generation
            0x00, 0x05, 0x72, 0x61, 0x6e, 0x67, 0x65,                   // protocol "range"
            0x00, 0x02, 0x6d, 0x31,                                     // leader "m1"
            0, 0, 0, 0, 0, 0, 0, 10,                                    // currentStateTimestamp
            0, 0, 0, 1,                                                 // 1 member
            0x00, 0x02, 0x6d, 0x31,                                     //   memberId "m1"
            0xff, 0xff,                                                 //   groupInstanceId null
            0x00, 0x01, 0x63,                                           //   clientId "c"
            0x00, 0x02, 0x2f, 0x68,                                     //   clientHost "/h"
            0, 0, 0x01, 0x2c,                                           //   rebalanceTimeout 300
            0, 0, 0, 100,                                               //   sessionTimeout 100
            0, 0, 0, 2, 1, 2,                                           //   subscription
            0, 0, 0, 1, 3,                                              //   assignment
        ]
        XCTAssertEqual(bytes(try value.encode()), expected)
        XCTAssertEqual(try GroupMetadataValue.decode(ByteBuffer(bytes: expected)), value)
        // Versions 0-2 lack fields the reader must default; v4 is flexible. Round trip them all.
        for version: Int16 in 0...4 {
            let decoded = try GroupMetadataValue.decode(try value.encode(version: version))
            XCTAssertEqual(decoded.members.first?.subscription, value.members.first?.subscription, "v\(version)")
            XCTAssertEqual(decoded.leader, "m1")
            XCTAssertEqual(decoded.currentStateTimestamp, version >= 2 ? 10 : -1)
            XCTAssertEqual(decoded.members.first?.rebalanceTimeout, version >= 1 ? 300 : -1)
        }
        XCTAssertThrowsError(try GroupMetadataValue.decode(ByteBuffer(bytes: Array(expected.dropLast(3)))))
    }

    func testHugeArrayCountIsRejectedNotAllocated() {
        let raw: [UInt8] = [0x00, 0x03, 0x00, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                            0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]
        XCTAssertThrowsError(try GroupMetadataValue.decode(ByteBuffer(bytes: raw)))
    }

    func testPartitionForGroupMatchesJavaStringHashCode() {
        // "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == Integer.MIN_VALUE,
        // which Kafka's Utils.abs maps to 0.
        XCTAssertEqual(consumerOffsetsPartition(for: "hello", partitionCount: 50), 99_162_322 % 50)
        XCTAssertEqual(consumerOffsetsPartition(for: "polygenelubricants", partitionCount: 50), 0)
        XCTAssertEqual(consumerOffsetsPartition(for: "Aa", partitionCount: 50),
                       consumerOffsetsPartition(for: "BB", partitionCount: 50))
        XCTAssertEqual(consumerOffsetsPartition(for: "", partitionCount: 7), 0)
    }

    func testConsumerSubscriptionTopics() {
        XCTAssertEqual(ConsumerProtocolSubscription.topics(from: GroupHarness.subscription(["a", "bb"])), ["a", "bb"])
        XCTAssertNil(ConsumerProtocolSubscription.topics(from: ByteBuffer(bytes: [0, 1, 0, 0, 0, 5, 0])))
    }
}
