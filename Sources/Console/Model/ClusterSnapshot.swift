import Foundation

/// Broker liveness as the console sees it.
public enum BrokerStatus: String, Sendable, Codable {
    /// Listed in Metadata and answered our last request.
    case up
    /// Seen earlier (or started by the local cluster manager) but missing from Metadata now.
    case down
    /// Listed in Metadata but our requests to it failed.
    case unreachable
    /// Alive but not in Metadata: its process runs (local cluster) or it fetched from the
    /// controller quorum within the last 10 s. Kafka's Metadata lists only unfenced brokers,
    /// so this is a fenced broker (or one still registering); the protocol tells no more.
    case fenced
}

/// A node's KRaft role: from DescribeQuorum's voters (controller) and Metadata's brokers.
public enum NodeRole: String, Sendable, Codable {
    case broker, controller, both
}

public struct BrokerView: Sendable, Equatable, Codable {
    public var id: Int32
    public var host: String
    public var port: Int32
    public var rack: String?
    public var isController: Bool
    public var status: BrokerStatus
    public var partitionsLed: Int
    public var logDirBytes: Int64?
    /// Why the broker is not up, when known.
    public var error: String?
    /// Since when the broker has not been up (nil while it is).
    public var notUpSince: Date? = nil
    /// From the broker's metrics endpoint, when one is known (`--metrics`); nil otherwise.
    public var metrics: BrokerMetricsView? = nil
    /// Controller (a quorum voter), broker, or both; nil when the cluster reports no quorum.
    public var role: NodeRole? = nil
    /// In the controller quorum: "leader", "follower" (another voter) or "observer"; nil when not in it.
    public var quorumState: String? = nil
    /// Metadata log offsets behind the quorum leader (DescribeQuorum), when in the quorum.
    public var quorumLag: Int64? = nil
    /// Partition replicas placed on this broker (Metadata), whether in sync or not.
    public var replicas: Int = 0
    /// Under-replicated partitions this broker leads.
    public var underReplicatedLed: Int = 0
}

/// Replication health of a partition, from Metadata and the topic's min.insync.replicas.
public struct PartitionHealth: Sendable, Equatable, Codable {
    /// ISR smaller than the replica set (and a leader exists).
    public var underReplicated = false
    /// ISR smaller than `min.insync.replicas`: acks=all produce is refused.
    public var underMinIsr = false
    /// No leader.
    public var offline = false
    /// The leader is the first replica (the preferred leader).
    public var preferredLeader = true
    public init(underReplicated: Bool = false, underMinIsr: Bool = false, offline: Bool = false, preferredLeader: Bool = true) {
        self.underReplicated = underReplicated; self.underMinIsr = underMinIsr; self.offline = offline; self.preferredLeader = preferredLeader
    }
}

/// The cluster header's counts over every partition.
public struct ClusterHealth: Sendable, Equatable, Codable {
    public var partitions = 0
    public var underReplicated = 0
    public var underMinIsr = 0
    public var offline = 0
    public var notOnPreferredLeader = 0
    /// Partitions with a reassignment under way (ListPartitionReassignments).
    public var reassigning = 0
    public init() {}
}

public struct PartitionView: Sendable, Equatable, Codable {
    public var topic: String
    public var partition: Int32
    public var leader: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var offlineReplicas: [Int32]
    public var logStartOffset: Int64?
    /// ListOffsets LATEST: the high watermark, which is the log end offset consumers see.
    public var highWatermark: Int64?
    public var sizeBytes: Int64?
    public var isUnderReplicated: Bool { isr.count < replicas.count }
    public var isOffline: Bool { leader < 0 }
    /// When the console first saw the partition under-replicated (or offline), if it is now.
    public var unhealthySince: Date?
    /// Messages per second appended, from end-offset deltas over recent samples.
    public var messagesPerSecond: Double?
    /// Follower replicas' lag as reported by the brokers (empty when not reported).
    public var followerLag: [FollowerLag]
    /// The offsets (and so the rate) are older than the last successful sample: the
    /// section failed, or this partition was missing from its last answer.
    public var isStale: Bool = false
    /// Metadata's leader epoch (-1: not reported).
    public var leaderEpoch: Int32 = -1
    /// The topic's `min.insync.replicas`, when its configs have been read.
    public var minInSyncReplicas: Int? = nil
    public var health = PartitionHealth()
    /// The reassignment under way, when ListPartitionReassignments lists this partition.
    public var reassignment: PartitionReassigning? = nil
    public var messageCount: Int64? {
        guard let s = logStartOffset, let e = highWatermark else { return nil }
        return max(0, e - s)
    }
}

/// The replicas a running reassignment adds and removes (the target is the replica set
/// without the removed ones).
public struct PartitionReassigning: Sendable, Equatable, Codable {
    public var adding: [Int32]
    public var removing: [Int32]
    public init(adding: [Int32], removing: [Int32]) { self.adding = adding; self.removing = removing }
}

/// One follower replica's lag behind the leader.
public struct FollowerLag: Sendable, Equatable, Codable {
    public var brokerId: Int32
    public var lag: ReplicaLag
    /// Its offset lag in recent samples, oldest first (the last is `lag.offsets`).
    public var history: [Int64] = []

    /// The largest lag of any follower at each recent sample, aligned on the newest: the
    /// Partitions pane's sparkline (one line for every replica of the partition).
    public static func worstHistory(_ followers: [FollowerLag]) -> [Int64] {
        let n = followers.map(\.history.count).max() ?? 0
        return (0..<n).map { i in
            followers.compactMap { f -> Int64? in
                let j = f.history.count - n + i
                return j >= 0 ? f.history[j] : nil
            }.max() ?? 0
        }
    }
}

public struct TopicView: Sendable, Equatable, Codable {
    public var name: String
    public var isInternal: Bool
    public var partitions: [PartitionView]
    public var replicationFactor: Int
    public var underReplicated: Int
    public var offline: Int
    /// Partitions whose ISR is below the topic's min.insync.replicas (0 until configs are read).
    public var underMinIsr: Int = 0
    public var sizeBytes: Int64?
    public var messageCount: Int64?
    public var messagesPerSecond: Double?
    public var retentionMs: Int64?
    public var retentionBytes: Int64?
    public var configs: [String: String]?
    /// Some of the topic's data is older than the last successful sample.
    public var isStale: Bool = false
}

/// Burrow's per-partition statuses, plus the retention breach Burrow lacks.
public enum PartitionLagStatus: String, Sendable, Codable, Comparable {
    case ok = "OK", warn = "WARN", stall = "STALL", stop = "STOP", rewind = "REWIND"
    /// The committed offset is below the log start offset: messages were deleted unread.
    case breach = "BREACH"
    /// Lag exists but the window holds fewer commits than the rule that would judge it
    /// needs (Burrow reports OK here; a bare OK next to lag 583 read as a verdict).
    case collecting = "COLLECTING"
    var severity: Int {
        switch self { case .ok: 0; case .collecting: 1; case .warn: 2; case .stall: 3; case .stop: 4; case .rewind: 5; case .breach: 6 }
    }
    public static func < (a: Self, b: Self) -> Bool { a.severity < b.severity }
}

/// Burrow's group roll-up: STOP, STALL, REWIND (and BREACH) collapse to ERR.
public enum GroupLagStatus: String, Sendable, Codable, Comparable {
    case ok = "OK", warn = "WARN", err = "ERR"
    /// The worst partition is still collecting commits: no verdict yet.
    case collecting = "COLLECTING"
    var severity: Int { switch self { case .ok: 0; case .collecting: 1; case .warn: 2; case .err: 3 } }
    public static func < (a: Self, b: Self) -> Bool { a.severity < b.severity }
}

/// Direction of a lag series over the last few samples.
public enum LagTrend: String, Sendable, Codable {
    case growing, draining, flat, unknown
}

public struct GroupPartitionView: Sendable, Equatable, Codable {
    public var topic: String
    public var partition: Int32
    public var committedOffset: Int64?
    public var endOffset: Int64?
    public var logStartOffset: Int64?
    public var lag: Int64?
    /// Seconds between now and when the log end passed the committed offset (from end-offset history).
    public var lagSeconds: Double?
    /// True when the committed offset predates the history, so lagSeconds is a lower bound.
    public var lagSecondsIsLowerBound: Bool
    public var memberId: String?
    public var clientId: String?
    public var host: String?
    /// Lag decrease per second (positive = draining), from recent samples.
    public var drainRate: Double?
    /// Seconds until lag reaches zero at the current drain rate.
    public var etaSeconds: Double?
    public var status: PartitionLagStatus
    public var reason: String
    /// Committed or end offsets are older than the last successful sample.
    public var isStale: Bool = false
}

public struct GroupView: Sendable, Equatable, Codable {
    public var groupId: String
    public var state: String
    public var protocolType: String
    public var assignor: String
    public var members: [GroupMember]
    public var coordinator: Int32?
    public var partitions: [GroupPartitionView]
    public var totalLag: Int64?
    public var maxLagSeconds: Double?
    /// Total lag per sample, oldest first, for the sparkline.
    public var lagHistory: [Int64]
    public var trend: LagTrend
    public var status: GroupLagStatus
    /// One line saying why, e.g. "WARN: lag rose across 10 commits over 4m12s (orders-3)".
    public var reason: String
    /// The group's data (description, commits or end offsets) is older than the last
    /// successful sample: shown greyed, with rates unknown.
    public var isStale: Bool = false
    public var topics: [String] { Array(Set(partitions.map(\.topic))).sorted() }
}

/// Names of the independently fetched sections, for inline errors and data age.
public enum SnapshotSection: String, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    case metadata, offsets, logDirs, groups, committed, configs, metrics, quorum, reassignments
}

/// One immutable picture of the cluster plus the history-derived values, produced by the
/// sampler and drawn by the UI. Sendable and never mutated after publication, so the UI
/// thread reads it without locks while the sampler builds the next one.
public struct ClusterSnapshot: Sendable, Equatable, Codable {
    /// Increases by one per published snapshot; presenters cache on it.
    public var sequence: Int
    public var takenAt: Date
    /// How long the sample's requests took.
    public var sampleSeconds: Double
    public var bootstrap: String
    public var clusterId: String?
    public var controllerId: Int32?
    public var brokers: [BrokerView]
    public var topics: [TopicView]
    public var groups: [GroupView]
    /// Per section, the error of its last attempt (nil/absent when it succeeded).
    public var errors: [SnapshotSection: String]
    /// Per section, when its data was last fetched successfully.
    public var sectionTimes: [SnapshotSection: Date]
    /// Per failing section, since when it has been failing (the header says "unreachable
    /// since"); absent for sections whose last attempt succeeded.
    public var failingSince: [SnapshotSection: Date] = [:]
    /// The controller quorum (DescribeQuorum); nil when the cluster reports none.
    public var quorum: QuorumInfo? = nil
    /// URP / under-min-ISR / offline / not-on-preferred-leader counts over every partition.
    public var health = ClusterHealth()

    public static func empty(bootstrap: String) -> ClusterSnapshot {
        ClusterSnapshot(sequence: 0, takenAt: .distantPast, sampleSeconds: 0, bootstrap: bootstrap, clusterId: nil, controllerId: nil,
                        brokers: [], topics: [], groups: [], errors: [:], sectionTimes: [:])
    }

    public var hasData: Bool { sectionTimes[.metadata] != nil }

    public func topic(named name: String) -> TopicView? { topics.first { $0.name == name } }
    public func group(id: String) -> GroupView? { groups.first { $0.groupId == id } }

    /// Seconds since a section was last fetched successfully (nil if never).
    public func age(of section: SnapshotSection, now: Date) -> Double? {
        sectionTimes[section].map { max(0, now.timeIntervalSince($0)) }
    }
}
