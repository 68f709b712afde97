import NIOCore

/// A JoinGroup request as the state machine sees it, independent of the wire version.
public struct JoinGroupInput: Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    /// JoinGroup v0 has no rebalance timeout; Kafka uses the session timeout then.
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    public var protocols: [GroupProtocolMetadata]
    /// JoinGroup v4+: a member without an id gets MEMBER_ID_REQUIRED and must rejoin (KIP-394).
    public var requireKnownMemberId: Bool
    /// JoinGroup v9+: a static leader rejoining a stable group is told to skip assignment.
    public var supportsSkipAssignment: Bool
    public var reason: String?

    public init(memberId: String, groupInstanceId: String? = nil, clientId: String, clientHost: String,
                sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, protocolType: String,
                protocols: [GroupProtocolMetadata], requireKnownMemberId: Bool,
                supportsSkipAssignment: Bool, reason: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.requireKnownMemberId = requireKnownMemberId
        self.supportsSkipAssignment = supportsSkipAssignment
        self.reason = reason
    }
}

/// A member's entry in the leader's JoinGroup response.
public struct JoinedMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var metadata: ByteBuffer
}

/// The answer to one JoinGroup.
public struct JoinGroupOutcome: Sendable, Equatable {
    public var error: GroupErrorCode
    public var generationId: Int32
    public var protocolType: String?
    public var protocolName: String?
    public var leader: String
    public var skipAssignment: Bool
    public var memberId: String
    /// Every member with its metadata for the chosen protocol for the leader; empty otherwise.
    public var members: [JoinedMember]

    public static func failure(_ error: GroupErrorCode, memberId: String = "") -> JoinGroupOutcome {
        JoinGroupOutcome(error: error, generationId: -1, protocolType: nil, protocolName: nil,
                         leader: "", skipAssignment: false, memberId: memberId, members: [])
    }
}

/// A SyncGroup request as the state machine sees it.
public struct SyncGroupInput: Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var generationId: Int32
    /// SyncGroup v5+; nil when the client did not send it.
    public var protocolType: String?
    public var protocolName: String?
    /// Only the leader sends assignments.
    public var assignments: [(memberId: String, assignment: ByteBuffer)]

    public init(memberId: String, groupInstanceId: String? = nil, generationId: Int32,
                protocolType: String? = nil, protocolName: String? = nil,
                assignments: [(memberId: String, assignment: ByteBuffer)] = []) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.generationId = generationId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The answer to one SyncGroup.
public struct SyncGroupOutcome: Sendable, Equatable {
    public var error: GroupErrorCode
    public var protocolType: String?
    public var protocolName: String?
    public var assignment: ByteBuffer

    public static func failure(_ error: GroupErrorCode) -> SyncGroupOutcome {
        SyncGroupOutcome(error: error, protocolType: nil, protocolName: nil, assignment: ByteBuffer())
    }
}

/// One member named in a LeaveGroup (v0-2 send one member id, v3+ a list with instance ids).
public struct LeavingMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var reason: String?
    public init(memberId: String, groupInstanceId: String? = nil, reason: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.reason = reason
    }
}

/// The answer to a LeaveGroup: a top-level error and one error per leaving member.
public struct LeaveGroupOutcome: Sendable, Equatable {
    public var error: GroupErrorCode
    public var members: [(member: LeavingMember, error: GroupErrorCode)]

    public static func == (lhs: LeaveGroupOutcome, rhs: LeaveGroupOutcome) -> Bool {
        lhs.error == rhs.error && lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.member == $1.member && $0.error == $1.error }
    }
}
