import NIOCore

/// A timer the state machine of one group asks for. At most one timer of each key is
/// pending; scheduling a key again replaces it.
public enum GroupTimer: Hashable, Sendable {
    /// The join phase: `group.initial.rebalance.delay.ms` for a new group, otherwise the
    /// rebalance timeout (the largest `rebalanceTimeoutMs` of the members).
    case join
    /// A member's liveness: its session timeout, or the new-member join timeout while it waits
    /// for its first JoinGroup response, or the session timeout of a member id handed out
    /// with MEMBER_ID_REQUIRED that has not rejoined yet.
    case heartbeat(memberId: String)
    /// After the join phase, every member must send SyncGroup within the rebalance timeout.
    case pendingSync
}

/// Why a group metadata record is written, so the state machine can continue when the write
/// is durable (or failed).
public enum GroupPersistPurpose: Sendable, Equatable {
    /// The leader's SyncGroup: on success every member gets its assignment and the group is Stable.
    case syncAssignment(generationId: Int32, assignments: [String: ByteBuffer])
    /// A static member replaced its old member id in a Stable group without a rebalance.
    case staticMemberRejoin(StaticMemberRejoin)
    /// Bookkeeping only (a generation ended with no members); nothing waits on it.
    case bookkeeping
}

/// What is needed to answer (or undo) a static member's rejoin once the group record is written.
public struct StaticMemberRejoin: Sendable, Equatable {
    public var token: RequestToken
    public var groupInstanceId: String
    public var oldMemberId: String
    public var newMemberId: String
    /// The old member's protocols and timeouts, restored if the write fails.
    public var oldProtocols: [GroupProtocolMetadata]
    public var oldRebalanceTimeoutMs: Int32
    public var oldSessionTimeoutMs: Int32
    /// The leader before the replacement: pre-v9 clients are told this (old) id, so a static
    /// leader does not run a pointless assignment that a stable group would ignore.
    public var previousLeader: String?
    public var supportsSkipAssignment: Bool
}

/// What the state machine asks its owner (`GroupCoordinator`) to do. The owner performs the
/// actions in order: completing parked requests, (re)arming timers and writing records.
public enum GroupAction: Sendable, Equatable {
    case completeJoin(RequestToken, JoinGroupOutcome)
    case completeSync(RequestToken, SyncGroupOutcome)
    case schedule(GroupTimer, deadlineMs: Int64)
    case cancel(GroupTimer)
    /// Write this group metadata record, then call `Group.groupPersisted(_:error:now:config:)`
    /// with `purpose`.
    case persistGroup(GroupMetadataValue, purpose: GroupPersistPurpose)
}
