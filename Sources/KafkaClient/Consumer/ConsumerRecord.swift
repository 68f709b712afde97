import NIOCore

/// A record as the consumer returns it.
public struct ConsumerRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch: the producer's (CreateTime) or the broker's (LogAppendTime).
    public var timestamp: Int64
    public var isLogAppendTime: Bool
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]
    public var leaderEpoch: Int32

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
}

/// Rebalance callbacks (Java's `ConsumerRebalanceListener`). They run inside `poll`, on the
/// consumer's actor, before `poll` returns: commit or save state in `revoked` before the
/// partitions move to another member.
public struct RebalanceListener: Sendable {
    public var assigned: @Sendable ([TopicPartition]) async -> Void
    public var revoked: @Sendable ([TopicPartition]) async -> Void
    /// Partitions lost without a chance to commit (the member was fenced out of the group).
    public var lost: @Sendable ([TopicPartition]) async -> Void

    public init(assigned: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
                revoked: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
                lost: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in }) {
        self.assigned = assigned
        self.revoked = revoked
        self.lost = lost
    }
}
