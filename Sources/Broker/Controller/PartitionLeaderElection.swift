/// Kafka's `PartitionChangeBuilder` for the changes the cluster logic makes (fencing, unfencing,
/// controlled shutdown), with ONLINE election and without Eligible Leader Replicas: the
/// PartitionChangeRecord that moves a partition to `targetIsr` and a leader acceptable under
/// `isAcceptableLeader`, or nil when nothing changes (Kafka writes no record then).
///
/// Rules (`PartitionChangeBuilder.electAnyLeader`, `build`):
/// * The current leader stays if it is still in the target ISR and acceptable.
/// * Otherwise the first replica, in `replicas` order, that is in the target ISR and acceptable.
/// * Otherwise no leader (-1): clients see LEADER_NOT_AVAILABLE. Electing an out-of-sync
///   replica (unclean election) is not done here.
/// * Without ELR the ISR never becomes empty: a target ISR that would be empty leaves the ISR
///   as it is (its last member, now fenced, stays; the partition has no leader until it returns).
/// Leader epoch and partition epoch are bumped by `MetadataImage.apply` (Kafka's `merge`).
public enum PartitionLeaderElection {
    public static func change(topicID: TopicID, partition p: PartitionRegistration, targetIsr: [Int32],
                              isAcceptableLeader: (Int32) -> Bool) -> PartitionChange? {
        func isValidNewLeader(_ replica: Int32) -> Bool { targetIsr.contains(replica) && isAcceptableLeader(replica) }
        let leader: Int32
        if p.leader >= 0, isValidNewLeader(p.leader) {
            leader = p.leader
        } else {
            leader = p.replicas.first(where: isValidNewLeader) ?? -1
        }
        var change = PartitionChange(topicID: topicID, partition: p.partition)
        var changed = false
        if leader != p.leader { change.leader = leader; changed = true }
        if !targetIsr.isEmpty, targetIsr != p.isr { change.isr = targetIsr; changed = true }
        return changed ? change : nil
    }
}
