import KafkaProtocol

/// A broker as Metadata describes it.
public struct BrokerInfo: Sendable, Hashable, Codable {
    public var nodeId: Int32
    public var host: String
    public var port: Int32
    public var rack: String?

    public init(nodeId: Int32, host: String, port: Int32, rack: String? = nil) {
        self.nodeId = nodeId
        self.host = host
        self.port = port
        self.rack = rack
    }

    public var address: BrokerAddress { BrokerAddress(host: host, port: Int(port)) }
}

/// One partition of a topic as Metadata describes it.
public struct PartitionInfo: Sendable, Hashable, Codable {
    public var partition: Int32
    /// The leader's node id, -1 when the partition has no leader (offline).
    public var leader: Int32
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var offlineReplicas: [Int32]
    /// The partition's error code (0 = none), e.g. LEADER_NOT_AVAILABLE.
    public var errorCode: Int16

    public init(partition: Int32, leader: Int32, leaderEpoch: Int32 = -1, replicas: [Int32], isr: [Int32],
                offlineReplicas: [Int32] = [], errorCode: Int16 = 0) {
        self.partition = partition
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.isr = isr
        self.offlineReplicas = offlineReplicas
        self.errorCode = errorCode
    }

    /// True when the partition has no live leader.
    public var isOffline: Bool { leader < 0 }
    /// True when some replica is not in sync.
    public var isUnderReplicated: Bool { isr.count < replicas.count }
}

/// A topic as Metadata describes it.
public struct TopicInfo: Sendable, Hashable, Codable {
    public var name: String
    /// Kafka's topic id (Metadata v10+), nil when the broker does not report one.
    public var topicId: String?
    public var isInternal: Bool
    /// Sorted by partition index.
    public var partitions: [PartitionInfo]
    public var errorCode: Int16

    public init(name: String, topicId: String? = nil, isInternal: Bool = false, partitions: [PartitionInfo], errorCode: Int16 = 0) {
        self.name = name
        self.topicId = topicId
        self.isInternal = isInternal
        self.partitions = partitions
        self.errorCode = errorCode
    }
}

/// An immutable picture of the cluster from one Metadata response.
public struct ClusterSnapshot: Sendable {
    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Int32: BrokerInfo]
    public var topics: [String: TopicInfo]
    /// Whether `topics` holds every topic (an all-topics request) or only those asked for.
    public var isComplete: Bool
    public var fetchedAt: ContinuousClock.Instant

    public func leader(for tp: TopicPartition) -> Int32? {
        guard let p = topics[tp.topic]?.partitions.first(where: { $0.partition == tp.partition }), p.leader >= 0 else {
            return nil
        }
        return p.leader
    }

    public func partitionCount(_ topic: String) -> Int? {
        guard let t = topics[topic], t.errorCode == 0, !t.partitions.isEmpty else { return nil }
        return t.partitions.count
    }

    /// Merges a partial refresh into this snapshot (brokers and controller are always fresh).
    /// A partition whose leader epoch in `newer` is below the one already known keeps what is
    /// known (a broker with a lagging metadata image must not send the client back to an old
    /// leader; Kafka's `Metadata.updateLatestMetadata`, KIP-951), unless the topic was recreated.
    func merging(_ newer: ClusterSnapshot) -> ClusterSnapshot {
        var merged = newer
        for (name, var topic) in merged.topics {
            guard let old = topics[name], old.topicId == topic.topicId, topic.errorCode == 0 else { continue }
            for (i, p) in topic.partitions.enumerated() {
                if let known = old.partitions.first(where: { $0.partition == p.partition }), known.leaderEpoch > p.leaderEpoch {
                    topic.partitions[i] = known
                }
            }
            merged.topics[name] = topic
        }
        if newer.isComplete { return merged }
        merged.topics = topics.merging(merged.topics, uniquingKeysWith: { _, new in new })
        merged.isComplete = false
        return merged
    }
}

extension ClusterSnapshot {
    init(_ response: MetadataResponse, requestedAll: Bool) {
        var brokers: [Int32: BrokerInfo] = [:]
        for b in response.brokers {
            brokers[b.nodeId] = BrokerInfo(nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack)
        }
        var topics: [String: TopicInfo] = [:]
        for t in response.topics {
            guard let name = t.name else { continue }
            let partitions = t.partitions.map {
                PartitionInfo(partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                              replicas: $0.replicaNodes, isr: $0.isrNodes, offlineReplicas: $0.offlineReplicas,
                              errorCode: $0.errorCode)
            }.sorted { $0.partition < $1.partition }
            topics[name] = TopicInfo(name: name, topicId: t.topicId == .zero ? nil : t.topicId.description,
                                     isInternal: t.isInternal, partitions: partitions, errorCode: t.errorCode)
        }
        self.init(clusterId: response.clusterId, controllerId: response.controllerId, brokers: brokers,
                  topics: topics, isComplete: requestedAll, fetchedAt: .now)
    }
}
