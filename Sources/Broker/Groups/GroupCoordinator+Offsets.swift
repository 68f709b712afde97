import NIOCore

// OffsetCommit, OffsetFetch, OffsetDelete and offset retention.

extension GroupCoordinator {
    /// An OffsetCommit. Returns one error per entry, in order; offsets are visible to
    /// OffsetFetch once the write is durable, before this returns.
    ///
    /// - Parameter retentionTimeMs: OffsetCommit v2-4's retention time; -1 for the broker's
    ///   `offsets.retention.minutes`.
    public func commitOffsets(groupId: String, memberId: String, groupInstanceId: String?,
                              generationId: Int32, retentionTimeMs: Int64 = -1,
                              offsets entries: [OffsetCommitEntry]) async -> [GroupErrorCode] {
        if let error = unavailableError(for: groupId) { return entries.map { _ in error } }
        // Topic checks may suspend; do them before looking at the group so the membership
        // checks and the write see the same group state.
        var exists: [Bool] = []
        exists.reserveCapacity(entries.count)
        for entry in entries { exists.append(await partitionExists(entry.topic, entry.partition)) }
        if let error = unavailableError(for: groupId) { return entries.map { _ in error } }

        let now = scheduler.nowMs()
        if groups[groupId] == nil {
            // A commit outside group management (generation -1) creates an Empty group that
            // only stores offsets; a member's commit for a group that is gone is stale.
            guard generationId < 0 else { return entries.map { _ in .illegalGeneration } }
            groups[groupId] = Group(groupId: groupId, now: now)
        }
        if let error = groups[groupId]!.validateOffsetCommit(
            memberId: memberId, instanceId: groupInstanceId, generationId: generationId) {
            return entries.map { _ in error }
        }
        var results = [GroupErrorCode](repeating: .none, count: entries.count)
        var accepted: [(index: Int, partition: GroupTopicPartition, value: OffsetCommitValue)] = []
        for (index, entry) in entries.enumerated() {
            let metadata = entry.metadata ?? ""
            if metadata.utf8.count > config.offsetMetadataMaxBytes {
                results[index] = .offsetMetadataTooLarge
            } else if !exists[index] {
                results[index] = .unknownTopicOrPartition
            } else {
                let value = OffsetCommitValue(
                    offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: metadata,
                    commitTimestamp: entry.commitTimestampMs ?? now,
                    expireTimestamp: Self.expireTimestamp(commitMs: entry.commitTimestampMs ?? now, retentionMs: retentionTimeMs))
                accepted.append((index, GroupTopicPartition(topic: entry.topic, partition: entry.partition), value))
            }
        }
        guard !accepted.isEmpty else { return results }
        let batch = accepted
        let writeError: GroupErrorCode = await withCheckedContinuation { continuation in
            enqueueWrite(partition: partition(for: groupId), PendingWrite(
                records: {
                    try batch.map { item in
                        (try GroupRecordKey.offsetCommit(OffsetCommitKey(
                            group: groupId, topic: item.partition.topic, partition: item.partition.partition)).encode(),
                         try item.value.encode())
                    }
                },
                completion: { error in
                    if error == .none {
                        self.groups[groupId]?.applyCommittedOffsets(batch.map { ($0.partition, $0.value) })
                    }
                    continuation.resume(returning: error)
                }))
        }
        for item in batch { results[item.index] = writeError }
        return results
    }

    /// When a commit with an explicit retention expires: -1 (the broker's retention) unless
    /// the client sent one; a retention too large to add saturates instead of trapping.
    static func expireTimestamp(commitMs: Int64, retentionMs: Int64) -> Int64 {
        guard retentionMs >= 0 else { return -1 }
        let (sum, overflow) = commitMs.addingReportingOverflow(retentionMs)
        return overflow ? Int64.max : sum
    }

    /// An OffsetFetch. `topics` nil means every partition the group has an offset for.
    /// Partitions without a commit get offset -1. There are no transactional offsets, so
    /// `requireStable` never produces UNSTABLE_OFFSET_COMMIT.
    public func fetchOffsets(groupId: String, topics: [(topic: String, partitions: [Int32])]?,
                             requireStable: Bool = false) -> (error: GroupErrorCode, offsets: [FetchedOffset]) {
        if let error = unavailableError(for: groupId) { return (error, []) }
        let committed = groups[groupId]?.offsets ?? [:]
        func fetched(_ tp: GroupTopicPartition) -> FetchedOffset {
            if let value = committed[tp] {
                return FetchedOffset(topic: tp.topic, partition: tp.partition, offset: value.offset,
                                     leaderEpoch: value.leaderEpoch, metadata: value.metadata, error: .none)
            }
            return FetchedOffset(topic: tp.topic, partition: tp.partition, offset: -1, leaderEpoch: -1,
                                 metadata: "", error: .none)
        }
        guard let topics else {
            return (.none, committed.keys.sorted().map(fetched))
        }
        return (.none, topics.flatMap { topic in
            topic.partitions.map { fetched(GroupTopicPartition(topic: topic.topic, partition: $0)) }
        })
    }

    /// An OffsetDelete: removes committed offsets of topics the group no longer consumes.
    public func deleteOffsets(groupId: String, partitions: [GroupTopicPartition]) async
        -> (error: GroupErrorCode, partitions: [(GroupTopicPartition, GroupErrorCode)]) {
        if let error = unavailableError(for: groupId) { return (error, []) }
        guard let group = groups[groupId] else { return (.groupIdNotFound, []) }
        let (error, perPartition) = group.validateOffsetDelete(partitions)
        if let error { return (error, []) }
        let deletable = partitions.filter { perPartition[$0] == GroupErrorCode.none && group.offsets[$0] != nil }
        var writeError = GroupErrorCode.none
        if !deletable.isEmpty {
            writeError = await withCheckedContinuation { continuation in
                enqueueWrite(partition: partition(for: groupId), PendingWrite(
                    records: {
                        try deletable.map { tp in
                            (try GroupRecordKey.offsetCommit(OffsetCommitKey(
                                group: groupId, topic: tp.topic, partition: tp.partition)).encode(), nil)
                        }
                    },
                    completion: { error in
                        if error == .none { self.groups[groupId]?.removeOffsets(deletable) }
                        continuation.resume(returning: error)
                    }))
            }
        }
        if writeError != .none { return (writeError, []) }
        return (.none, partitions.map { ($0, perPartition[$0] ?? .none) })
    }

    /// Drops offsets past `offsets.retention.minutes` and forgets groups left with neither
    /// members nor offsets, writing tombstones for both (run every
    /// `offsets.retention.check.interval.ms`).
    func removeExpiredOffsetsAndGroups() {
        let retention = config.offsetsRetentionMs
        cleanUp(groups.keys.sorted(), reason: "offsets expired") { group, now in
            group.expiredOffsets(now: now, retentionMs: retention)
        }
    }

    /// Deletes every group's committed offsets for topics that were deleted (Kafka's
    /// `onPartitionsDeleted`), so a topic re-created under the same name does not inherit
    /// offsets past its end. broker-core calls this after DeleteTopics. Returns once the
    /// tombstones are queued; `waitForWrites()` waits for them.
    public func topicsDeleted(_ topics: [String]) {
        let deleted = Set(topics)
        let affected = groups.values.filter { $0.offsets.keys.contains { deleted.contains($0.topic) } }.map(\.groupId)
        cleanUp(affected.sorted(), reason: "topic deleted") { group, _ in
            group.offsets.keys.filter { deleted.contains($0.topic) }.sorted()
        }
    }

    /// Writes tombstones for the offsets `select` picks in each group and for a group that is
    /// left Empty without offsets, then updates memory once they are durable. The choice is
    /// made when the write starts (after every earlier write to the partition applied). A
    /// group about to be forgotten turns Dead at once, so nothing joins it meanwhile; if the
    /// write fails it is put back as it was.
    private func cleanUp(_ groupIds: [String], reason: String,
                         select: @escaping (Group, Int64) -> [GroupTopicPartition]) {
        /// What the write decided, for its completion. Both closures run on this actor, one
        /// after the other, which the region checker cannot see; hence `@unchecked`.
        final class Decision: @unchecked Sendable {
            var removed: [GroupTopicPartition] = []
            var saved: Group?
        }
        for groupId in groupIds {
            let decision = Decision()
            enqueueWrite(partition: partition(for: groupId), PendingWrite(
                records: {
                    guard let group = self.groups[groupId], group.state != .dead else { return [] }
                    let now = self.scheduler.nowMs()
                    let removed = select(group, now)
                    decision.removed = removed
                    var records = try removed.map { tp in
                        (key: try GroupRecordKey.offsetCommit(OffsetCommitKey(
                            group: groupId, topic: tp.topic, partition: tp.partition)).encode(), value: ByteBuffer?.none)
                    }
                    let left = Set(group.offsets.keys).subtracting(removed)
                    if group.state == .empty && left.isEmpty && group.pendingJoinMembers.isEmpty {
                        decision.saved = group
                        self.groups[groupId]?.markDead(now: now)
                        records.append((key: try GroupRecordKey.groupMetadata(group: groupId).encode(), value: nil))
                    }
                    return records
                },
                completion: { error in
                    if error != .none {
                        if let saved = decision.saved { self.groups[groupId] = saved }
                        return
                    }
                    let removed = decision.removed
                    if decision.saved != nil {
                        self.groups.removeValue(forKey: groupId)
                        self.cancelTimers(groupId: groupId)
                        self.logger.info("group removed", metadata: ["group": "\(groupId)", "cause": "\(reason)"])
                    } else if !removed.isEmpty {
                        self.groups[groupId]?.removeOffsets(removed)
                        self.logger.info("offsets removed", metadata: [
                            "group": "\(groupId)", "partitions": "\(removed.count)", "cause": "\(reason)"])
                    }
                }))
        }
    }
}
