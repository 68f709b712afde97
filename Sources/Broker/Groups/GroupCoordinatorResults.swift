import NIOCore

/// The broker node clients should talk to as coordinator, as FindCoordinator returns it.
public struct CoordinatorNode: Sendable, Equatable {
    public var nodeId: Int32
    public var host: String
    public var port: Int32
    public init(nodeId: Int32, host: String, port: Int32) {
        self.nodeId = nodeId
        self.host = host
        self.port = port
    }
}

/// One partition of an OffsetCommit.
public struct OffsetCommitEntry: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// OffsetCommit v6+; -1 when not sent.
    public var leaderEpoch: Int32
    /// nil is stored as "" (Kafka's NO_METADATA).
    public var metadata: String?
    /// OffsetCommit v1 lets the client set the commit time; nil means now.
    public var commitTimestampMs: Int64?

    public init(topic: String, partition: Int32, offset: Int64, leaderEpoch: Int32 = -1, metadata: String? = nil,
                commitTimestampMs: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
    }
}

/// One partition of an OffsetFetch answer; `offset` -1 when nothing is committed.
public struct FetchedOffset: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var leaderEpoch: Int32
    public var metadata: String?
    public var error: GroupErrorCode
}

/// One row of ListGroups.
public struct GroupListing: Sendable, Equatable {
    public var groupId: String
    public var protocolType: String
    public var state: GroupState
    /// KIP-848's group type; classic groups are "classic".
    public var groupType: String
}

/// A member as DescribeGroups shows it.
public struct MemberDescription: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    /// The member's metadata for the chosen protocol; empty unless the group is Stable.
    public var metadata: ByteBuffer
    /// Empty unless the group is Stable.
    public var assignment: ByteBuffer
}

/// One group as DescribeGroups shows it. An unknown group is reported as Dead with no error,
/// as Kafka does before DescribeGroups v6.
public struct GroupDescription: Sendable, Equatable {
    public var groupId: String
    public var error: GroupErrorCode
    public var state: String
    public var protocolType: String
    /// The chosen protocol while Stable, else "".
    public var protocolData: String
    public var members: [MemberDescription]
}
