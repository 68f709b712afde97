import Foundation

// What a ClusterDataSource returns: the cluster's own answers, before the sampler adds
// history (rates, trends, verdicts). All plain Sendable values.

/// A broker as listed in Metadata.
public struct BrokerEndpoint: Sendable, Equatable, Codable {
    public var id: Int32
    public var host: String
    public var port: Int32
    public var rack: String?
    public init(id: Int32, host: String, port: Int32, rack: String? = nil) {
        self.id = id; self.host = host; self.port = port; self.rack = rack
    }
}

/// One partition's placement, from Metadata.
public struct PartitionMetadata: Sendable, Equatable {
    public var partition: Int32
    /// -1 when the partition has no leader (offline).
    public var leader: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var offlineReplicas: [Int32]
    public var errorCode: Int16
    /// The leader epoch Metadata reports (v7+); -1 when the broker does not say.
    public var leaderEpoch: Int32
    public init(partition: Int32, leader: Int32, replicas: [Int32], isr: [Int32], offlineReplicas: [Int32] = [], errorCode: Int16 = 0,
                leaderEpoch: Int32 = -1) {
        self.partition = partition; self.leader = leader; self.replicas = replicas; self.isr = isr
        self.offlineReplicas = offlineReplicas; self.errorCode = errorCode; self.leaderEpoch = leaderEpoch
    }
}

public struct TopicMetadata: Sendable, Equatable {
    public var name: String
    public var isInternal: Bool
    public var partitions: [PartitionMetadata]
    public init(name: String, isInternal: Bool = false, partitions: [PartitionMetadata]) {
        self.name = name; self.isInternal = isInternal; self.partitions = partitions
    }
}

/// The answer to one Metadata request.
public struct ClusterMetadata: Sendable, Equatable {
    public var clusterId: String?
    public var controllerId: Int32?
    public var brokers: [BrokerEndpoint]
    public var topics: [TopicMetadata]
    public init(clusterId: String?, controllerId: Int32?, brokers: [BrokerEndpoint], topics: [TopicMetadata]) {
        self.clusterId = clusterId; self.controllerId = controllerId; self.brokers = brokers; self.topics = topics
    }
}

/// The KRaft controller quorum as DescribeQuorum reports it (`__cluster_metadata-0`).
public struct QuorumInfo: Sendable, Equatable, Codable {
    public struct Replica: Sendable, Equatable, Codable {
        public var nodeId: Int32
        /// Voter (a controller of the quorum) or observer (a broker-only node following the log).
        public var isVoter: Bool
        public var logEndOffset: Int64
        /// Behind the quorum leader's log end offset.
        public var lag: Int64
        /// Milliseconds since the epoch, as the leader reports them; nil when never seen.
        public var lastFetchTimestampMs: Int64?
        public var lastCaughtUpTimestampMs: Int64?
        public init(nodeId: Int32, isVoter: Bool, logEndOffset: Int64, lag: Int64, lastFetchTimestampMs: Int64? = nil, lastCaughtUpTimestampMs: Int64? = nil) {
            self.nodeId = nodeId; self.isVoter = isVoter; self.logEndOffset = logEndOffset; self.lag = lag
            self.lastFetchTimestampMs = lastFetchTimestampMs; self.lastCaughtUpTimestampMs = lastCaughtUpTimestampMs
        }
    }
    /// The quorum leader: the active controller.
    public var leaderId: Int32
    public var leaderEpoch: Int32
    public var highWatermark: Int64
    /// Voters first, then observers, each by node id.
    public var replicas: [Replica]
    public init(leaderId: Int32, leaderEpoch: Int32, highWatermark: Int64, replicas: [Replica]) {
        self.leaderId = leaderId; self.leaderEpoch = leaderEpoch; self.highWatermark = highWatermark; self.replicas = replicas
    }
    public var voters: [Replica] { replicas.filter(\.isVoter) }
    public var observers: [Replica] { replicas.filter { !$0.isVoter } }
    public func replica(_ id: Int32) -> Replica? { replicas.first { $0.nodeId == id } }
}

/// Log start offset and end offset (the high watermark, ListOffsets LATEST) of a partition.
public struct PartitionOffsets: Sendable, Equatable {
    public var logStart: Int64
    public var end: Int64
    public init(logStart: Int64, end: Int64) { self.logStart = logStart; self.end = end }
}

/// Follower replica progress as a broker reports it (DescribeLogDirs offset lag, or a
/// Samsa-specific report). Absent when the broker does not expose it.
public struct ReplicaLag: Sendable, Equatable, Codable {
    public var offsets: Int64
    public var timeMs: Int64?
    public init(offsets: Int64, timeMs: Int64? = nil) { self.offsets = offsets; self.timeMs = timeMs }
}

/// One broker's DescribeLogDirs answer, summed over its log directories.
public struct BrokerLogDirs: Sendable, Equatable {
    public var brokerId: Int32
    public var totalBytes: Int64
    public var partitionBytes: [TopicPartition: Int64]
    /// Per partition, the lag this broker's replica reports (non-leaders only).
    public var replicaLag: [TopicPartition: ReplicaLag]
    public init(brokerId: Int32, totalBytes: Int64, partitionBytes: [TopicPartition: Int64], replicaLag: [TopicPartition: ReplicaLag] = [:]) {
        self.brokerId = brokerId; self.totalBytes = totalBytes; self.partitionBytes = partitionBytes; self.replicaLag = replicaLag
    }
}

public struct GroupMember: Sendable, Equatable, Codable {
    public var memberId: String
    /// `group.instance.id` of a static member (KIP-345), nil for a dynamic one.
    public var groupInstanceId: String?
    public var clientId: String
    public var host: String
    public var assignment: [TopicPartition]
    public init(memberId: String, groupInstanceId: String? = nil, clientId: String, host: String, assignment: [TopicPartition]) {
        self.memberId = memberId; self.groupInstanceId = groupInstanceId; self.clientId = clientId; self.host = host; self.assignment = assignment
    }
}

/// A consumer group from ListGroups + DescribeGroups.
public struct GroupDescription: Sendable, Equatable {
    public var groupId: String
    public var state: String
    public var protocolType: String
    /// The assignor (range, roundrobin, cooperative-sticky...), when the broker reports it.
    public var assignor: String
    public var members: [GroupMember]
    public var coordinator: Int32?
    public init(groupId: String, state: String, protocolType: String = "consumer", assignor: String = "", members: [GroupMember] = [], coordinator: Int32? = nil) {
        self.groupId = groupId; self.state = state; self.protocolType = protocolType; self.assignor = assignor
        self.members = members; self.coordinator = coordinator
    }
}

/// One round of answers. Each section is a `Result` so one failing call (a dead
/// coordinator, a broker that times out) degrades that section only.
public struct RawSample: Sendable {
    public var metadata: Result<ClusterMetadata, SourceError>
    public var offsets: Result<[TopicPartition: PartitionOffsets], SourceError>
    public var logDirs: [Int32: Result<BrokerLogDirs, SourceError>]
    public var groups: Result<[GroupDescription], SourceError>
    public var committed: Result<[String: [TopicPartition: Int64]], SourceError>
    /// nil when configs were not fetched this round (they are fetched less often).
    public var topicConfigs: Result<[String: [String: String]], SourceError>?
    /// Scrapes of the brokers' metrics endpoints (empty when none is known).
    public var brokerMetrics: [BrokerMetricsScrapeResult] = []
    /// DescribeQuorum: nil when not asked; `.success(nil)` when the cluster does not implement it.
    public var quorum: Result<QuorumInfo?, SourceError>? = nil
    /// ListPartitionReassignments; nil when not asked, `.success(nil)` when the cluster has no such API.
    public var reassignments: Result<[OngoingReassignment]?, SourceError>? = nil
    public var startedAt: Date
    public var finishedAt: Date
    public init(metadata: Result<ClusterMetadata, SourceError>, offsets: Result<[TopicPartition: PartitionOffsets], SourceError>,
                logDirs: [Int32: Result<BrokerLogDirs, SourceError>], groups: Result<[GroupDescription], SourceError>,
                committed: Result<[String: [TopicPartition: Int64]], SourceError>, topicConfigs: Result<[String: [String: String]], SourceError>?,
                startedAt: Date, finishedAt: Date) {
        self.metadata = metadata; self.offsets = offsets; self.logDirs = logDirs; self.groups = groups
        self.committed = committed; self.topicConfigs = topicConfigs; self.startedAt = startedAt; self.finishedAt = finishedAt
    }
}

/// A failed call, reduced to a message for display (the console shows errors inline).
public struct SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The broker does not implement the API: data is absent, but the broker is not down.
    public var unsupported: Bool = false
    public init(_ message: String, unsupported: Bool = false) { self.message = message; self.unsupported = unsupported }
    public init(_ error: any Error) { self.message = (error as? SourceError)?.message ?? String(describing: error) }
    public var description: String { message }
}
