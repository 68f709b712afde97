import NIOCore

// Committed offsets of a group: who may commit, and when offsets expire or may be deleted.

extension Group {
    /// Checks an OffsetCommit against the group (Kafka's classic `validateOffsetCommit`).
    ///
    /// A "simple" commit (generation -1, empty member id, no instance id) is accepted only
    /// while the group has no members; a member's commit must carry its member id and the
    /// current generation. Commits are accepted during PreparingRebalance (from the generation
    /// that is ending) but not during CompletingRebalance, where the member has a new
    /// generation but no assignment yet.
    public func validateOffsetCommit(memberId: String, instanceId: String?, generationId requested: Int32) -> GroupErrorCode? {
        if state == .dead { return .coordinatorNotAvailable }
        if requested >= 0 || !memberId.isEmpty || instanceId != nil {
            if let error = validateMember(memberId, instanceId: instanceId) { return error }
            if requested != generationId { return .illegalGeneration }
        } else if state != .empty {
            return .unknownMemberId
        }
        if state == .completingRebalance { return .rebalanceInProgress }
        return nil
    }

    /// Records offsets that are now durable in the log.
    public mutating func applyCommittedOffsets(_ committed: [(GroupTopicPartition, OffsetCommitValue)]) {
        for (partition, value) in committed { offsets[partition] = value }
    }

    /// Forgets offsets whose tombstones are durable.
    public mutating func removeOffsets(_ partitions: [GroupTopicPartition]) {
        for partition in partitions { offsets.removeValue(forKey: partition) }
    }

    /// Checks a DeleteGroups: only a group without members may be deleted.
    public func validateDelete() -> GroupErrorCode? {
        switch state {
        case .dead: .groupIdNotFound
        case .empty: nil
        case .preparingRebalance, .completingRebalance, .stable: .nonEmptyGroup
        }
    }

    /// Marks the group deleted; the caller writes the tombstones and forgets it.
    public mutating func markDead(now: Int64) {
        transition(to: .dead, now: now)
    }

    /// Checks an OffsetDelete for each partition: an empty group may drop anything; a
    /// `consumer` group with members may drop offsets of topics no member subscribes to
    /// (GROUP_SUBSCRIBED_TO_TOPIC otherwise); a group of another protocol type with members
    /// may drop nothing (NON_EMPTY_GROUP).
    public func validateOffsetDelete(_ partitions: [GroupTopicPartition])
        -> (error: GroupErrorCode?, perPartition: [GroupTopicPartition: GroupErrorCode]) {
        switch state {
        case .dead:
            return (.groupIdNotFound, [:])
        case .empty:
            return (nil, Dictionary(partitions.map { ($0, GroupErrorCode.none) }, uniquingKeysWith: { a, _ in a }))
        case .preparingRebalance, .completingRebalance, .stable:
            guard protocolType == ConsumerGroupProtocol.type else { return (.nonEmptyGroup, [:]) }
            var result: [GroupTopicPartition: GroupErrorCode] = [:]
            for partition in partitions {
                result[partition] = isSubscribed(to: partition.topic) ? .groupSubscribedToTopic : GroupErrorCode.none
            }
            return (nil, result)
        }
    }

    /// Offsets past their retention (Kafka's `removeExpiredOffsets`, `offsets.retention.minutes`):
    /// * an empty group with a protocol type: every offset, once the retention has passed
    ///   since the group became empty;
    /// * a Stable `consumer` group: offsets of topics no member subscribes to, by commit time;
    /// * a group used only for offset storage (no protocol type ever): by commit time.
    /// A commit that carried an explicit retention (OffsetCommit v2-4) expires at its
    /// expire timestamp instead.
    public func expiredOffsets(now: Int64, retentionMs: Int64) -> [GroupTopicPartition] {
        func expired(base: (OffsetCommitValue) -> Int64, keep: Set<String> = []) -> [GroupTopicPartition] {
            offsets.compactMap { partition, value in
                guard !keep.contains(partition.topic) else { return nil }
                if value.expireTimestamp >= 0 { return now >= value.expireTimestamp ? partition : nil }
                return now - base(value) >= retentionMs ? partition : nil
            }.sorted()
        }
        switch protocolType {
        case .some where state == .empty:
            return expired(base: { self.currentStateTimestampMs ?? $0.commitTimestamp })
        case .some(ConsumerGroupProtocol.type) where state == .stable && subscribedTopics != nil:
            return expired(base: { $0.commitTimestamp }, keep: subscribedTopics ?? [])
        case .none:
            return expired(base: { $0.commitTimestamp })
        default:
            return []
        }
    }
}
