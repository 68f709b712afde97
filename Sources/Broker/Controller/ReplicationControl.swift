import KafkaProtocol

/// The active controller's leader-election and reassignment operations as pure functions of the
/// metadata image: Kafka's `ReplicationControlManager.electLeaders`, `alterPartitionReassignments`,
/// `listPartitionReassignments`, the periodic unclean election of leaderless partitions and the
/// auto leader rebalance. Each returns the records to append (in one batch) and the per-partition
/// answers; none applies records itself. Every change goes through
/// ``PartitionLeaderElection/change(topicID:partition:targetIsr:targetReplicas:targetRemoving:targetAdding:election:isAcceptableLeader:)``
/// (Kafka's `PartitionChangeBuilder`), so a reassignment also completes in the same record when
/// the ISR already holds every adding replica.
///
/// A replica may lead when its broker is registered, unfenced and not in controlled shutdown
/// (``ClusterControl/isActive(_:image:)``).
public enum ReplicationControl {
    /// ElectLeaders `ElectionType` (KIP-460): 0 PREFERRED, 1 UNCLEAN.
    public enum ElectionType: Int8, Sendable {
        case preferred = 0
        case unclean = 1
    }

    /// One partition's answer.
    public struct PartitionResult: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var error: ErrorCode
        public var message: String?
        public init(topic: String, partition: Int32, error: ErrorCode, message: String? = nil) {
            self.topic = topic; self.partition = partition; self.error = error; self.message = message
        }
    }

    // MARK: - ElectLeaders (43)

    /// Kafka's `ReplicationControlManager.electLeaders`. `partitions` nil means every partition;
    /// then only partitions that needed an election are answered (ELECTION_NOT_NEEDED ones are
    /// left out, as Kafka does). Results are in request order (all: topic name, partition order).
    public static func electLeaders(image: MetadataImage, type: ElectionType, partitions: [(topic: String, partitions: [Int32])]?)
        -> (records: [MetadataRecord], results: [PartitionResult]) {
        var records: [MetadataRecord] = []
        var results: [PartitionResult] = []
        if let partitions {
            for (topic, indexes) in partitions {
                for index in indexes {
                    let (record, result) = electLeader(image: image, topic: topic, partition: index, type: type)
                    if let record { records.append(record) }
                    results.append(result)
                }
            }
        } else {
            for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
                for p in topic.partitions {
                    let (record, result) = electLeader(image: image, topic: topic.name, partition: p.partition, type: type)
                    if let record { records.append(record) }
                    if result.error != .electionNotNeeded { results.append(result) }
                }
            }
        }
        return (records, results)
    }

    /// Kafka's `ReplicationControlManager.electLeader` for one partition.
    static func electLeader(image: MetadataImage, topic: String, partition index: Int32, type: ElectionType)
        -> (MetadataRecord?, PartitionResult) {
        func result(_ e: ErrorCode, _ m: String? = nil) -> PartitionResult {
            PartitionResult(topic: topic, partition: index, error: e, message: m)
        }
        guard let t = image.topics[topic] else {
            return (nil, result(.unknownTopicOrPartition, "No such topic as \(topic)"))
        }
        guard index >= 0, Int(index) < t.partitions.count else {
            return (nil, result(.unknownTopicOrPartition, "No such partition as \(topic)-\(index)"))
        }
        let p = t.partitions[Int(index)]
        if (type == .preferred && p.hasPreferredLeader) || (type == .unclean && p.leader >= 0) {
            return (nil, result(.electionNotNeeded, "Leader election not needed for topic partition."))
        }
        let change = PartitionLeaderElection.change(
            topicID: t.id, partition: p, targetIsr: p.isr, election: type == .preferred ? .preferred : .unclean
        ) { ClusterControl.isActive($0, image: image) }
        guard let change else {
            return type == .preferred
                ? (nil, result(.preferredLeaderNotAvailable, "Failed to elect leader for partition \(topic)-\(index) under strategy PreferredReplicaPartitionLeaderElectionStrategy"))
                : (nil, result(.eligibleLeadersNotAvailable, "Failed to elect leader for partition \(topic)-\(index) under strategy UncleanPartitionLeaderElectionStrategy"))
        }
        return (.partitionChange(change), result(.none))
    }

    // MARK: - Periodic elections

    /// Kafka's periodic unclean election (`maybeTriggerUncleanLeaderElectionForLeaderlessPartitions`):
    /// every leaderless partition of a topic with `unclean.leader.election.enable` gets the first
    /// acceptable replica as leader, with the ISR reset to it. Also done on fencing/unfencing (in
    /// ``ClusterControl``); this pass catches partitions whose config was switched on later.
    public static func uncleanElections(image: MetadataImage, brokerDefault: Bool) -> [MetadataRecord] {
        var out: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name })
        where PartitionLeaderElection.uncleanEnabled(topic, image: image, brokerDefault: brokerDefault) {
            for p in topic.partitions where p.leader < 0 {
                if let c = PartitionLeaderElection.change(topicID: topic.id, partition: p, targetIsr: p.isr, election: .unclean,
                                                          isAcceptableLeader: { ClusterControl.isActive($0, image: image) }) {
                    out.append(.partitionChange(c))
                }
            }
        }
        return out
    }

    /// `auto.leader.rebalance.enable`: preferred elections for partitions not led by their
    /// preferred replica (`replicas[0]`) when that replica is active and in the ISR. As Kafka's
    /// ZooKeeper controller did with `leader.imbalance.per.broker.percentage`, a preferred broker's
    /// partitions move only when the share of its preferred partitions it does not lead is above
    /// `imbalancePercentage` (the KRaft controller defines the setting but ignores it, and moves
    /// every imbalanced partition: pass 0 for that). At most `maxElections` records per pass
    /// (Kafka's `maxElectionsPerImbalance`, 1000).
    public static func preferredRebalance(image: MetadataImage, imbalancePercentage: Int, maxElections: Int = 1000) -> [MetadataRecord] {
        var preferredCount: [Int32: Int] = [:]
        var notLedCount: [Int32: Int] = [:]
        for topic in image.topics.values {
            for p in topic.partitions {
                guard let preferred = p.replicas.first else { continue }
                preferredCount[preferred, default: 0] += 1
                if p.leader != preferred { notLedCount[preferred, default: 0] += 1 }
            }
        }
        func overThreshold(_ broker: Int32) -> Bool {
            let total = preferredCount[broker] ?? 0
            guard total > 0 else { return false }
            return (notLedCount[broker] ?? 0) * 100 > imbalancePercentage * total
        }
        var out: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions {
                guard out.count < maxElections else { return out }
                guard let preferred = p.replicas.first, p.leader != preferred, p.isr.contains(preferred),
                      ClusterControl.isActive(preferred, image: image), overThreshold(preferred) else { continue }
                if let c = PartitionLeaderElection.change(topicID: topic.id, partition: p, targetIsr: p.isr, election: .preferred,
                                                          isAcceptableLeader: { ClusterControl.isActive($0, image: image) }),
                   c.leader == preferred {
                    out.append(.partitionChange(c))
                }
            }
        }
        return out
    }

    /// Reassignments whose adding replicas all joined the ISR, completed (replicas = target,
    /// removing replicas out of the ISR and, if one led, a new leader). Kafka completes them in
    /// the AlterPartition that expands the ISR; this pass makes completion independent of which
    /// path changed the ISR (a fencing, an AlterPartition, a restart).
    public static func completeReassignments(image: MetadataImage) -> [MetadataRecord] {
        var out: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions where p.isReassigning {
                if let c = PartitionLeaderElection.change(topicID: topic.id, partition: p, targetIsr: p.isr,
                                                          isAcceptableLeader: { ClusterControl.isActive($0, image: image) }),
                   c.addingReplicas != nil || c.removingReplicas != nil {
                    out.append(.partitionChange(c))
                }
            }
        }
        return out
    }

    // MARK: - AlterPartitionReassignments (45)

    /// Kafka's `alterPartitionReassignments`: per partition, `replicas` non-nil starts (or
    /// replaces) a reassignment to those replicas, nil cancels the running one. Each partition's
    /// change is computed against the image left by the previous ones.
    public static func alterPartitionReassignments(image: MetadataImage, brokerDefaultUnclean: Bool,
                                                   requests: [(topic: String, partition: Int32, replicas: [Int32]?)])
        -> (records: [MetadataRecord], results: [PartitionResult]) {
        var working = image
        var records: [MetadataRecord] = []
        var results: [PartitionResult] = []
        for r in requests {
            do {
                if let record = try alterPartitionReassignment(image: working, brokerDefaultUnclean: brokerDefaultUnclean,
                                                               topic: r.topic, partition: r.partition, target: r.replicas) {
                    working.apply(record)
                    records.append(record)
                }
                results.append(PartitionResult(topic: r.topic, partition: r.partition, error: .none))
            } catch {
                results.append(PartitionResult(topic: r.topic, partition: r.partition, error: ErrorCode(rawValue: error.code),
                                               message: error.message))
            }
        }
        return (records, results)
    }

    static func alterPartitionReassignment(image: MetadataImage, brokerDefaultUnclean: Bool, topic: String, partition index: Int32,
                                           target: [Int32]?) throws(ControllerError) -> MetadataRecord? {
        guard let t = image.topics[topic] else {
            throw ControllerError(ErrorCode.unknownTopicOrPartition.rawValue, "Unable to find a topic named \(topic).")
        }
        guard index >= 0, Int(index) < t.partitions.count else {
            throw ControllerError(ErrorCode.unknownTopicOrPartition.rawValue, "Unable to find partition \(topic):\(index).")
        }
        let p = t.partitions[Int(index)]
        let unclean = PartitionLeaderElection.uncleanEnabled(t, image: image, brokerDefault: brokerDefaultUnclean)
        let acceptable: (Int32) -> Bool = { ClusterControl.isActive($0, image: image) }
        guard let target else {
            // cancelPartitionReassignment with PartitionReassignmentRevert.
            guard p.isReassigning else {
                throw ControllerError(ErrorCode.noReassignmentInProgress.rawValue, "No partition reassignment is in progress for the topic '\(topic)' partition '\(index)'.")
            }
            let replicas = p.replicas.filter { !p.addingReplicas.contains($0) }
            var isr = p.isr.filter { !p.addingReplicas.contains($0) }
            let revertUnclean = isr.isEmpty
            if revertUnclean {
                guard unclean else {
                    throw .invalidReplicaAssignment("Unable to revert partition assignment for \(topic):\(index) because it would require an unclean leader election.")
                }
                isr = replicas
            }
            return PartitionLeaderElection.change(topicID: t.id, partition: p, targetIsr: isr, targetReplicas: replicas,
                                                  targetRemoving: [], targetAdding: [],
                                                  election: unclean ? .unclean : .online, isAcceptableLeader: acceptable)
                .map { .partitionChange($0) }
        }
        // validateManualPartitionAssignment
        guard !target.isEmpty else {
            throw .invalidReplicaAssignment("The manual partition assignment includes an empty replica list.")
        }
        var previous: Int32?
        for broker in target.sorted() {
            guard image.brokers[broker] != nil else {
                throw .invalidReplicaAssignment("The manual partition assignment includes broker \(broker), but no such broker is registered.")
            }
            if broker == previous {
                throw .invalidReplicaAssignment("The manual partition assignment includes the broker \(broker) more than once.")
            }
            previous = broker
        }
        // changePartitionReassignment with PartitionReassignmentReplicas(current, target).
        let current = p.replicas
        let removing = current.filter { !target.contains($0) }
        let adding = target.filter { !current.contains($0) }
        let replicas = target + removing
        return PartitionLeaderElection.change(topicID: t.id, partition: p, targetIsr: p.isr,
                                              targetReplicas: replicas, targetRemoving: removing, targetAdding: adding,
                                              isAcceptableLeader: acceptable)
            .map { .partitionChange($0) }
    }

    // MARK: - ListPartitionReassignments (46)

    /// One ongoing reassignment.
    public struct OngoingReassignment: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var replicas: [Int32]
        public var addingReplicas: [Int32]
        public var removingReplicas: [Int32]
    }

    /// Kafka's `listPartitionReassignments`: `topics` nil lists every reassigning partition;
    /// otherwise the named ones that are reassigning (unknown topics and partitions are skipped).
    public static func listPartitionReassignments(image: MetadataImage, topics: [(name: String, partitions: [Int32])]?) -> [OngoingReassignment] {
        func entry(_ topic: String, _ p: PartitionRegistration) -> OngoingReassignment {
            OngoingReassignment(topic: topic, partition: p.partition, replicas: p.replicas,
                                addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas)
        }
        var out: [OngoingReassignment] = []
        if let topics {
            for (name, indexes) in topics {
                guard let t = image.topics[name] else { continue }
                for i in indexes where i >= 0 && Int(i) < t.partitions.count && t.partitions[Int(i)].isReassigning {
                    out.append(entry(name, t.partitions[Int(i)]))
                }
            }
        } else {
            for t in image.topics.values.sorted(by: { $0.name < $1.name }) {
                for p in t.partitions where p.isReassigning { out.append(entry(t.name, p)) }
            }
        }
        return out
    }
}
