import KafkaProtocol
/// Value types returned by ``KafkaAdmin``. All are `Sendable` and `Codable` (the CLI prints
/// them as JSON), and none holds a connection: they are snapshots of what the brokers said.

/// A topic to create.
public struct NewTopic: Sendable, Hashable, Codable {
    public var name: String
    /// -1 = the broker's `num.partitions` (CreateTopics v4+).
    public var partitions: Int32
    /// -1 = the broker's `default.replication.factor` (CreateTopics v4+).
    public var replicationFactor: Int16
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// The per-item outcome of a batched admin operation (create/delete topics, delete groups...):
/// one item failing does not fail the others.
public struct AdminItemResult: Sendable, Hashable, Codable {
    public var name: String
    /// 0 = success.
    public var errorCode: Int16
    public var errorMessage: String?

    public init(name: String, errorCode: Int16 = 0, errorMessage: String? = nil) {
        self.name = name
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    public var succeeded: Bool { errorCode == 0 }

    /// The error as a ``KafkaClientError``, nil on success.
    public func error(_ context: String) -> KafkaClientError? {
        succeeded ? nil : .broker(errorCode, "\(context) \(name)", message: errorMessage)
    }
}

/// What a config resource is (Kafka's `ConfigResource.Type` codes).
public enum ConfigResourceType: Int8, Sendable, Codable {
    case topic = 2
    case broker = 4
    case brokerLogger = 8
    case group = 32
}

public struct ConfigResource: Sendable, Hashable, Codable {
    public var type: ConfigResourceType
    /// Topic name, or broker id as a string ("" = the cluster-wide broker default).
    public var name: String

    public init(type: ConfigResourceType, name: String) {
        self.type = type
        self.name = name
    }

    public static func topic(_ name: String) -> ConfigResource { ConfigResource(type: .topic, name: name) }
    public static func broker(_ id: Int32) -> ConfigResource { ConfigResource(type: .broker, name: String(id)) }
}

/// One config key of a resource.
public struct ConfigEntry: Sendable, Hashable, Codable {
    public var name: String
    /// nil when the broker hides it (sensitive) or it has no value.
    public var value: String?
    public var isReadOnly: Bool
    public var isDefault: Bool
    public var isSensitive: Bool
    /// Kafka's `ConfigSource` code: 1 dynamic topic, 2 dynamic broker, 3 dynamic default
    /// broker, 4 static broker, 5 default, 6 dynamic logger; -1 unknown.
    public var source: Int8

    public init(name: String, value: String?, isReadOnly: Bool = false, isDefault: Bool = false,
                isSensitive: Bool = false, source: Int8 = -1) {
        self.name = name
        self.value = value
        self.isReadOnly = isReadOnly
        self.isDefault = isDefault
        self.isSensitive = isSensitive
        self.source = source
    }
}

/// A config change for ``KafkaAdmin/alterConfigs(_:validateOnly:)``.
public enum ConfigChange: Sendable, Hashable {
    case set(String, String)
    case delete(String)

    var name: String {
        switch self {
        case .set(let n, _), .delete(let n): return n
        }
    }
}

/// The cluster as a whole.
public struct ClusterDescription: Sendable, Codable {
    public var clusterId: String?
    public var controllerId: Int32
    /// Sorted by node id.
    public var brokers: [BrokerInfo]
}

/// The KRaft controller quorum as DescribeQuorum reports it (what `kafka-metadata-quorum.sh
/// describe --status/--replication` prints).
public struct QuorumDescription: Sendable, Codable, Equatable {
    public struct Replica: Sendable, Codable, Equatable {
        public var nodeId: Int32
        public var logEndOffset: Int64
        /// How far behind the leader's log end offset (Kafka's "Lag" column).
        public var lag: Int64
        /// Milliseconds since the epoch; nil when the leader has not seen one (-1 on the wire).
        public var lastFetchTimestamp: Int64?
        public var lastCaughtUpTimestamp: Int64?
        public var isVoter: Bool
    }
    public var leaderId: Int32
    public var leaderEpoch: Int32
    public var highWatermark: Int64
    /// Voters first, then observers, each by node id.
    public var replicas: [Replica]

    public init(leaderId: Int32, leaderEpoch: Int32, highWatermark: Int64, replicas: [Replica]) {
        self.leaderId = leaderId; self.leaderEpoch = leaderEpoch; self.highWatermark = highWatermark; self.replicas = replicas
    }

    /// Builds the description from a DescribeQuorum partition (the `__cluster_metadata-0` entry).
    public init(_ p: DescribeQuorumResponse.PartitionData) {
        let leaderEnd = p.currentVoters.first { $0.replicaId == p.leaderId }?.logEndOffset
            ?? (p.currentVoters + p.observers).map(\.logEndOffset).max() ?? 0
        func replica(_ r: DescribeQuorumResponse.ReplicaState, voter: Bool) -> Replica {
            Replica(nodeId: r.replicaId, logEndOffset: r.logEndOffset, lag: max(0, leaderEnd - r.logEndOffset),
                    lastFetchTimestamp: r.lastFetchTimestamp >= 0 ? r.lastFetchTimestamp : nil,
                    lastCaughtUpTimestamp: r.lastCaughtUpTimestamp >= 0 ? r.lastCaughtUpTimestamp : nil, isVoter: voter)
        }
        self.init(leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, highWatermark: p.highWatermark,
                  replicas: p.currentVoters.sorted { $0.replicaId < $1.replicaId }.map { replica($0, voter: true) }
                      + p.observers.sorted { $0.replicaId < $1.replicaId }.map { replica($0, voter: false) })
    }
}

/// One log directory of one broker (DescribeLogDirs).
public struct LogDirDescription: Sendable, Codable {
    public var broker: Int32
    public var path: String
    public var errorCode: Int16
    /// -1 when the broker does not report it (DescribeLogDirs < v4).
    public var totalBytes: Int64
    public var usableBytes: Int64
    public var replicas: [LogDirReplica]
}

public struct LogDirReplica: Sendable, Codable {
    public var topicPartition: TopicPartition
    public var sizeBytes: Int64
    /// What the broker reports as `OffsetLag` (Kafka: LEO - HW for the current replica, or the
    /// future replica's lag behind it; 0 when it reports nothing).
    public var offsetLag: Int64
    public var isFuture: Bool
}

/// A group as ListGroups reports it.
public struct GroupListing: Sendable, Hashable, Codable {
    public var groupId: String
    public var protocolType: String
    /// Empty when the broker does not report states (ListGroups < v4, or Tansu).
    public var state: String
    public var coordinator: Int32
}

/// A member of a group with its assignment, decoded from the consumer protocol.
public struct GroupMemberDescription: Sendable, Hashable, Codable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    /// Decoded for "consumer" groups; empty otherwise or when the broker sends no bytes.
    public var assignment: [TopicPartition]
}

/// A group as DescribeGroups reports it.
public struct GroupDescription: Sendable, Hashable, Codable {
    public var groupId: String
    /// Stable, PreparingRebalance, CompletingRebalance, Empty, Dead.
    public var state: String
    public var protocolType: String
    /// The chosen assignor (e.g. "range"), empty when not in a generation.
    public var protocolName: String
    public var members: [GroupMemberDescription]
    public var coordinator: Int32
    public var errorCode: Int16
}

/// A committed offset (OffsetFetch).
public struct CommittedOffset: Sendable, Hashable, Codable {
    public var offset: Int64
    public var leaderEpoch: Int32
    public var metadata: String?
}

/// Which offset ``KafkaAdmin/listOffsets(_:isolation:)`` looks up.
public enum OffsetSpec: Sendable, Hashable, Codable {
    /// The log start offset.
    case earliest
    /// The high watermark (read_uncommitted) or last stable offset (read_committed).
    case latest
    /// The offset of the record with the highest timestamp (ListOffsets v7+).
    case maxTimestamp
    /// The first offset whose timestamp is >= this many ms since the epoch.
    case timestamp(Int64)

    var wireValue: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case .maxTimestamp: return -3
        case .timestamp(let t): return t
        }
    }
}

/// A looked-up offset. `offset == -1` means no record matches (a timestamp past the end).
public struct ListedOffset: Sendable, Hashable, Codable {
    public var offset: Int64
    public var timestamp: Int64
    public var leaderEpoch: Int32
}

/// A consumer group's lag on one partition.
public struct PartitionLag: Sendable, Hashable, Codable {
    public var group: String
    public var topicPartition: TopicPartition
    /// nil when the group has committed nothing for the partition.
    public var committedOffset: Int64?
    public var highWatermark: Int64
    public var logStartOffset: Int64
    /// High watermark - committed (0 when caught up; the whole log when nothing is committed).
    public var lag: Int64
    /// Milliseconds between now and the timestamp of the first unconsumed record
    /// (the record at the committed offset); nil when caught up or unknown.
    public var timeLagMs: Int64?
}

/// One line of an offset-reset plan: where a group is and where it would be moved.
public struct OffsetResetEntry: Sendable, Hashable, Codable {
    public var topicPartition: TopicPartition
    public var currentOffset: Int64?
    public var targetOffset: Int64
}

/// Where ``KafkaAdmin/planOffsetReset(group:topics:to:)`` moves a group's offsets
/// (the options of `kafka-consumer-groups --reset-offsets`).
public enum OffsetResetTarget: Sendable, Hashable {
    case earliest
    case latest
    case offset(Int64)
    /// Kafka's `--shift-by`: current committed offset + n, clamped to the log.
    case shiftBy(Int64)
    /// Kafka's `--to-datetime` as ms since the epoch.
    case timestamp(Int64)
}
