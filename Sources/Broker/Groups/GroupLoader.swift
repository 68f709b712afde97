import Logging
import NIOCore

/// Rebuilds groups from `__consumer_offsets` on start-up: replays each partition in order,
/// the last value per key winning and a tombstone deleting.
///
/// A value type used once by `GroupCoordinator.start()`.
struct GroupLoader {
    private var metadata: [String: GroupMetadataValue] = [:]
    private var offsets: [String: [GroupTopicPartition: OffsetCommitValue]] = [:]
    private(set) var skippedRecords = 0

    mutating func replay(_ records: [(key: ByteBuffer, value: ByteBuffer?)], partition: Int32, logger: Logger) {
        for record in records {
            do {
                switch try GroupRecordKey.decode(record.key) {
                case .offsetCommit(let key):
                    let tp = GroupTopicPartition(topic: key.topic, partition: key.partition)
                    if let value = record.value {
                        offsets[key.group, default: [:]][tp] = try OffsetCommitValue.decode(value)
                    } else {
                        offsets[key.group]?.removeValue(forKey: tp)
                    }
                case .groupMetadata(let group):
                    if let value = record.value {
                        metadata[group] = try GroupMetadataValue.decode(value)
                    } else {
                        metadata.removeValue(forKey: group)
                    }
                case .other:
                    // KIP-848 and share-group records share the topic; not ours.
                    continue
                }
            } catch {
                // One bad record must not keep every group of the partition from loading.
                skippedRecords += 1
                logger.warning("skipping an unreadable __consumer_offsets record", metadata: [
                    "partition": "\(partition)", "error": "\(error)"])
            }
        }
    }

    /// The loaded groups: one per group metadata record, plus an Empty group for offsets
    /// committed without group management.
    func groups(now: Int64) -> [String: Group] {
        var result: [String: Group] = [:]
        for (groupId, value) in metadata {
            result[groupId] = Group(groupId: groupId, loadedFrom: value, now: now)
        }
        for (groupId, committed) in offsets where !committed.isEmpty {
            if result[groupId] == nil { result[groupId] = Group(groupId: groupId, now: now) }
            result[groupId]?.applyCommittedOffsets(committed.map { ($0.key, $0.value) })
        }
        return result
    }
}
