import NIOCore

/// Identifies one parked request (a JoinGroup or SyncGroup waiting for the rebalance) so that
/// the state machine can say "answer request 17 with this" without holding continuations.
public struct RequestToken: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}

/// One protocol a member supports, with its opaque metadata (for `consumer` groups, a
/// ConsumerProtocolSubscription).
public struct GroupProtocolMetadata: Sendable, Equatable {
    public var name: String
    public var metadata: ByteBuffer
    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// A member of a classic group (Kafka's `ClassicGroupMember`).
///
/// A plain value owned by its `Group`; the parked-request tokens say which JoinGroup or
/// SyncGroup of this member is waiting for an answer.
public struct GroupMember: Sendable, Equatable {
    public var memberId: String
    /// `group.instance.id` of a static member (KIP-345), nil for a dynamic member.
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var rebalanceTimeoutMs: Int32
    public var sessionTimeoutMs: Int32
    public var protocolType: String
    /// In the member's order of preference.
    public var protocols: [GroupProtocolMetadata]
    /// The assignment the leader gave this member in the current generation.
    public var assignment: ByteBuffer
    /// A JoinGroup of this member that waits for the join phase to complete.
    var awaitingJoin: RequestToken?
    /// A SyncGroup of this member that waits for the leader's assignment.
    var awaitingSync: RequestToken?
    /// True from the member's first join until it receives its first JoinGroup response;
    /// such a member expires after `newMemberJoinTimeoutMs` even while it waits.
    var isNew: Bool
    /// Order of arrival, so that "the first member" (new leader, response order) is stable.
    var joinSequence: UInt64

    public var isStatic: Bool { groupInstanceId != nil }
    public var isAwaitingJoin: Bool { awaitingJoin != nil }
    public var isAwaitingSync: Bool { awaitingSync != nil }

    /// The metadata this member sent for protocol `name`, nil if it does not support it.
    public func metadata(forProtocol name: String) -> ByteBuffer? {
        protocols.first(where: { $0.name == name })?.metadata
    }

    /// True when `protocols` is exactly what the member sent last time (same names, order and
    /// metadata): a rejoin with unchanged metadata does not force a rebalance.
    func matches(_ protocols: [GroupProtocolMetadata]) -> Bool {
        self.protocols == protocols
    }

    /// A member whose heartbeat timer fired is kept only while it waits for a join or sync
    /// response, unless it is new (then the new-member join timeout applies).
    var hasSatisfiedHeartbeatWhileWaiting: Bool {
        if isNew { return false }
        return isAwaitingJoin || isAwaitingSync
    }
}
