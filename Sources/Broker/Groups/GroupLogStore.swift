import NIOCore

/// Where the group coordinator keeps group metadata and offsets: the compacted
/// `__consumer_offsets` topic (see BROKER-CONTRACT.md). broker-core implements it over the
/// partition logs; tests use an in-memory one.
///
/// Implementations must be safe to call concurrently; the coordinator never has two appends
/// to the same partition in flight, so appends to one partition land in call order.
public protocol GroupLogStore: Sendable {
    /// Number of __consumer_offsets partitions (offsets.topic.num.partitions).
    var partitionCount: Int32 { get }
    /// Appends one batch of key/value records (value nil = tombstone) to partition p and
    /// returns when it is durable per the broker's flush policy. Throwing a
    /// `GroupErrorCode` (e.g. `.notCoordinator`) passes that code to the clients; any other
    /// error is reported as COORDINATOR_NOT_AVAILABLE, which clients retry.
    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)]) async throws
    /// Every record in partition p from the start, in order, for reload on start-up.
    func readAll(partition: Int32) async throws -> [(key: ByteBuffer, value: ByteBuffer?)]
}

extension GroupErrorCode: Error {}

/// Which `__consumer_offsets` partition holds a group: Kafka's
/// `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`, with Java's `String.hashCode`
/// over UTF-16 code units, so a group lands on the same partition as in Kafka and tools that
/// compute it agree.
public func consumerOffsetsPartition(for groupId: String, partitionCount: Int32) -> Int32 {
    precondition(partitionCount > 0, "offsets.topic.num.partitions must be positive")
    var hash: Int32 = 0
    for unit in groupId.utf16 { hash = hash &* 31 &+ Int32(unit) }
    let abs = hash == Int32.min ? 0 : Swift.abs(hash)
    return abs % partitionCount
}
