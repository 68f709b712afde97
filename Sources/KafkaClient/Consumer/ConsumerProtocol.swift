import KafkaProtocol
import NIOCore

/// The "consumer" embedded protocol carried opaquely in JoinGroup metadata and SyncGroup
/// assignments: an int16 version followed by `ConsumerProtocolSubscription` or
/// `ConsumerProtocolAssignment` at that version. Readers decode a newer version with the
/// newest layout they know and ignore trailing bytes, which is how Kafka keeps mixed-version
/// groups working; so a Java, librdkafka or kafka-python member's metadata decodes here.
public enum ConsumerProtocol {
    /// The version we write: v3 (owned partitions, generation, rack), as Java's consumer does.
    public static let writeVersion: Int16 = 3

    public static func encodeSubscription(_ s: GroupMemberSubscription, rackId: String? = nil) throws -> ByteBuffer {
        var message = ConsumerProtocolSubscription()
        message.topics = s.topics
        message.userData = s.userData.map { ByteBuffer(bytes: $0) }
        message.ownedPartitions = grouped(s.ownedPartitions).map {
            ConsumerProtocolSubscription.TopicPartition(topic: $0.key, partitions: $0.value)
        }
        message.generationId = s.generationId
        message.rackId = rackId
        var buffer = ByteBuffer()
        buffer.writeInteger(writeVersion)
        try message.encode(into: &buffer, version: writeVersion)
        return buffer
    }

    /// Decodes a member's JoinGroup metadata into a subscription for the assignor.
    public static func decodeSubscription(_ bytes: ByteBuffer, memberId: String, groupInstanceId: String?) throws -> GroupMemberSubscription {
        var buffer = bytes
        guard let version: Int16 = buffer.readInteger(), version >= 0 else {
            throw KafkaClientError.protocolViolation("member \(memberId) sent empty consumer subscription metadata")
        }
        let message = try ConsumerProtocolSubscription(from: &buffer, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
        return GroupMemberSubscription(
            memberId: memberId, groupInstanceId: groupInstanceId, topics: message.topics,
            userData: message.userData.map { Array($0.readableBytesView) },
            ownedPartitions: message.ownedPartitions.flatMap { tp in tp.partitions.map { TopicPartition(tp.topic, $0) } },
            generationId: message.generationId)
    }

    public static func encodeAssignment(_ partitions: [TopicPartition], userData: [UInt8]? = nil) throws -> ByteBuffer {
        var message = ConsumerProtocolAssignment()
        message.assignedPartitions = grouped(partitions).map {
            ConsumerProtocolAssignment.TopicPartition(topic: $0.key, partitions: $0.value)
        }
        message.userData = userData.map { ByteBuffer(bytes: $0) }
        var buffer = ByteBuffer()
        // Assignment v1+ only adds ignorable fields; v3 mirrors the subscription's version.
        buffer.writeInteger(writeVersion)
        try message.encode(into: &buffer, version: writeVersion)
        return buffer
    }

    /// Decodes a SyncGroup assignment. An empty buffer is an empty assignment (Kafka sends one
    /// to members the leader gave nothing).
    public static func decodeAssignment(_ bytes: ByteBuffer) throws -> [TopicPartition] {
        var buffer = bytes
        guard buffer.readableBytes > 0 else { return [] }
        guard let version: Int16 = buffer.readInteger(), version >= 0 else {
            throw KafkaClientError.protocolViolation("malformed consumer assignment")
        }
        let message = try ConsumerProtocolAssignment(from: &buffer, version: min(version, ConsumerProtocolAssignment.validVersions.upperBound))
        return message.assignedPartitions.flatMap { tp in tp.partitions.map { TopicPartition(tp.topic, $0) } }.sorted()
    }

    private static func grouped(_ partitions: [TopicPartition]) -> [(key: String, value: [Int32])] {
        Dictionary(grouping: partitions, by: \.topic).map { ($0.key, $0.value.map(\.partition).sorted()) }.sorted { $0.key < $1.key }
    }
}
