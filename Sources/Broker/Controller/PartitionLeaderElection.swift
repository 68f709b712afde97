/// Kafka's `PartitionChangeBuilder` for the changes the cluster logic makes (fencing, unfencing,
/// controlled shutdown, ElectLeaders, auto rebalance, reassignment), without Eligible Leader
/// Replicas: the PartitionChangeRecord that moves a partition to `targetIsr` (and
/// `targetReplicas`) and a leader chosen by `election`, or nil when nothing changes (Kafka
/// writes no record then).
///
/// Rules (`PartitionChangeBuilder.shouldTryElection`, `electPreferredLeader`, `electAnyLeader`,
/// `build`); a *valid* new leader is in the target ISR and acceptable:
/// * An election is tried only when the current leader left the target ISR or is no longer
///   acceptable, or PREFERRED and the leader is not `targetReplicas[0]`, or UNCLEAN and there is
///   no leader. Otherwise the leader stays.
/// * ONLINE: the current leader if valid, else the first valid replica in `targetReplicas` order.
/// * PREFERRED: `targetReplicas[0]` if valid, else the current leader if valid, else as ONLINE.
/// * UNCLEAN: as ONLINE; if none, the first *acceptable* replica even out of the ISR. The ISR
///   becomes `[newLeader]` (Kafka also marks LeaderRecoveryState RECOVERING; Samsa's leaders do
///   not run a recovery step, so it is not recorded).
/// * Otherwise no leader (-1): clients see LEADER_NOT_AVAILABLE.
/// * Without ELR the ISR never becomes empty: a target ISR that would be empty leaves the ISR
///   as it is (its last member, now fenced, stays; the partition has no leader until it returns
///   or an unclean election picks another replica).
/// Leader epoch and partition epoch are bumped by `MetadataImage.apply` (Kafka's `merge`).
public enum PartitionLeaderElection {
    /// Kafka's `PartitionChangeBuilder.Election`.
    public enum Election: Sendable, Equatable {
        case online, preferred, unclean
    }

    public static func change(topicID: TopicID, partition p: PartitionRegistration, targetIsr targetIsrIn: [Int32],
                              targetReplicas: [Int32]? = nil, targetRemoving: [Int32]? = nil, targetAdding: [Int32]? = nil,
                              election: Election = .online,
                              isAcceptableLeader: (Int32) -> Bool) -> PartitionChange? {
        var replicas = targetReplicas ?? p.replicas
        var targetIsr = targetIsrIn
        var removing = targetRemoving ?? p.removingReplicas
        var adding = targetAdding ?? p.addingReplicas
        // Kafka's completeReassignmentIfNeeded (PartitionReassignmentReplicas.maybeCompleteReassignment):
        // a reassignment completes in any change once the ISR without the removing replicas is
        // not empty and holds every adding replica.
        if !removing.isEmpty || !adding.isEmpty {
            let newIsr = targetIsr.filter { !removing.contains($0) }
            if !newIsr.isEmpty, adding.allSatisfy(newIsr.contains) {
                targetIsr = newIsr
                replicas = replicas.filter { !removing.contains($0) }
                removing = []
                adding = []
            }
        }
        func isValidNewLeader(_ replica: Int32) -> Bool { targetIsr.contains(replica) && isAcceptableLeader(replica) }
        var leader = p.leader
        var isr = targetIsr
        let shouldTryElection: Bool = {
            if !targetIsr.contains(p.leader) { return true }
            if election == .preferred, p.leader != replicas.first { return true }
            if election == .unclean, p.leader < 0 { return true }
            return !isAcceptableLeader(p.leader)
        }()
        if shouldTryElection {
            if election == .preferred, let first = replicas.first, isValidNewLeader(first) {
                leader = first
            } else if p.leader >= 0, isValidNewLeader(p.leader) {
                leader = p.leader
            } else if let online = replicas.first(where: isValidNewLeader) {
                leader = online
            } else if election == .unclean, let unclean = replicas.first(where: isAcceptableLeader) {
                leader = unclean
                isr = [unclean]
            } else {
                leader = -1
            }
        }
        var change = PartitionChange(topicID: topicID, partition: p.partition)
        var changed = false
        if leader != p.leader { change.leader = leader; changed = true }
        if !isr.isEmpty, isr != p.isr { change.isr = isr; changed = true }
        if replicas != p.replicas { change.replicas = replicas; changed = true }
        if removing != p.removingReplicas { change.removingReplicas = removing; changed = true }
        if adding != p.addingReplicas { change.addingReplicas = adding; changed = true }
        return changed ? change : nil
    }

    /// Whether `topic` allows unclean elections: the topic's `unclean.leader.election.enable`,
    /// else the cluster-wide dynamic broker default, else `brokerDefault` (the static config).
    public static func uncleanEnabled(_ topic: TopicImage, image: MetadataImage, brokerDefault: Bool) -> Bool {
        let key = "unclean.leader.election.enable"
        let value = topic.configs[key] ?? image.brokerConfigs[""]?[key]
        guard let value else { return brokerDefault }
        return value.lowercased() == "true"
    }
}
