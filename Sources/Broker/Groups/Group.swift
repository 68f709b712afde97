import NIOCore

/// A partition a group committed an offset for.
public struct GroupTopicPartition: Hashable, Sendable, Comparable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: GroupTopicPartition, b: GroupTopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}

/// One classic consumer group: its membership, generation, chosen protocol and committed
/// offsets (Kafka's `ClassicGroup`).
///
/// A value type with no I/O: the events in `Group+StateMachine.swift` mutate it and return
/// `GroupAction`s that the owner (`GroupCoordinator`) performs. `Sendable` because it is a
/// plain value; it is only ever mutated by its single owner.
public struct Group: Sendable {
    public let groupId: String
    public private(set) var state: GroupState = .empty
    /// The state before the last transition: a join phase that started from Empty only ends
    /// on the initial-delay timer, never early.
    public private(set) var previousState: GroupState = .empty
    /// Set by the first member to join an empty group; kept while the group is empty.
    public internal(set) var protocolType: String?
    /// Chosen by vote when the join phase completes; nil while the group is empty.
    public internal(set) var protocolName: String?
    public internal(set) var generationId: Int32 = 0
    public internal(set) var leaderId: String?
    public internal(set) var members: [String: GroupMember] = [:]
    /// `group.instance.id` -> member id of each static member.
    public internal(set) var staticMembers: [String: String] = [:]
    /// Member ids handed out with MEMBER_ID_REQUIRED whose owners have not rejoined yet;
    /// the join phase waits for them.
    public internal(set) var pendingJoinMembers: Set<String> = []
    /// Members that got a JoinGroup response for this generation but have not sent SyncGroup.
    public internal(set) var pendingSyncMembers: Set<String> = []
    /// Set when a member joins a new group during the initial delay, to extend the delay.
    var newMemberAdded = false
    /// While the join timer is the initial delay: the time still left after it (Kafka
    /// extends the delay, in steps of `group.initial.rebalance.delay.ms`, up to the rebalance
    /// timeout while members keep arriving). nil while the join timer is the rebalance timeout.
    var initialRebalanceRemainingMs: Int32?
    /// When the group last changed state (ms since the epoch); offsets of an empty group
    /// expire relative to it.
    public internal(set) var currentStateTimestampMs: Int64?
    /// For `consumer` groups, the union of the members' subscribed topics in this
    /// generation; nil when not known (other protocol types or unparsable metadata).
    public internal(set) var subscribedTopics: Set<String>?
    /// Committed offsets, whether or not the group has members.
    public internal(set) var offsets: [GroupTopicPartition: OffsetCommitValue] = [:]
    var nextJoinSequence: UInt64 = 0

    public init(groupId: String, now: Int64) {
        self.groupId = groupId
        self.currentStateTimestampMs = now
    }

    // MARK: State

    /// Moves to `next`. An invalid transition is a bug in the state machine, not bad input,
    /// so it stops the process rather than corrupting the group.
    mutating func transition(to next: GroupState, now: Int64) {
        precondition(next.validPreviousStates.contains(state),
                     "group \(groupId): invalid transition \(state.rawValue) -> \(next.rawValue)")
        previousState = state
        state = next
        currentStateTimestampMs = now
    }

    public func isInState(_ s: GroupState) -> Bool { state == s }

    // MARK: Members

    /// Members in order of arrival.
    public var sortedMembers: [GroupMember] {
        members.values.sorted { $0.joinSequence < $1.joinSequence }
    }

    public func isLeader(_ memberId: String) -> Bool { leaderId == memberId }

    /// The largest rebalance timeout of the members: how long the join phase may wait.
    public var rebalanceTimeoutMs: Int32 {
        members.values.map(\.rebalanceTimeoutMs).max() ?? 0
    }

    var numMembersAwaitingJoin: Int { members.values.filter(\.isAwaitingJoin).count }

    /// True when every member has rejoined and no MEMBER_ID_REQUIRED id is outstanding.
    var hasAllMembersJoined: Bool {
        numMembersAwaitingJoin == members.count && pendingJoinMembers.isEmpty
    }

    /// Counts members plus ids handed out and not yet used, against `group.max.size`.
    func isFull(config: GroupCoordinatorConfig) -> Bool {
        members.count + pendingJoinMembers.count >= Int(config.groupMaxSize)
    }

    mutating func add(_ member: GroupMember) {
        var member = member
        if members.isEmpty { protocolType = member.protocolType }
        if leaderId == nil { leaderId = member.memberId }
        member.joinSequence = nextJoinSequence
        nextJoinSequence += 1
        members[member.memberId] = member
        if let instanceId = member.groupInstanceId { staticMembers[instanceId] = member.memberId }
        pendingJoinMembers.remove(member.memberId)
    }

    /// Removes a member; a removed leader is replaced by the earliest remaining member.
    @discardableResult
    mutating func remove(_ memberId: String) -> GroupMember? {
        guard let member = members.removeValue(forKey: memberId) else { return nil }
        if let instanceId = member.groupInstanceId, staticMembers[instanceId] == memberId {
            staticMembers.removeValue(forKey: instanceId)
        }
        pendingSyncMembers.remove(memberId)
        if leaderId == memberId { leaderId = sortedMembers.first?.memberId }
        return member
    }

    /// Kafka's `validateMember`: a static member's instance id must map to this member id
    /// (else FENCED_INSTANCE_ID, or UNKNOWN_MEMBER_ID if the instance is unknown), and the
    /// member must exist.
    func validateMember(_ memberId: String, instanceId: String?) -> GroupErrorCode? {
        if let instanceId {
            guard let existing = staticMembers[instanceId] else { return .unknownMemberId }
            if existing != memberId { return .fencedInstanceId }
        }
        return members[memberId] == nil ? .unknownMemberId : nil
    }

    // MARK: Protocols

    /// Protocols every member supports.
    var candidateProtocols: Set<String> {
        var counts: [String: Int] = [:]
        for member in members.values {
            for name in Set(member.protocols.map(\.name)) { counts[name, default: 0] += 1 }
        }
        return Set(counts.filter { $0.value == members.count }.keys)
    }

    /// Whether a member with this protocol type and these protocols may join: any, for an
    /// empty group; otherwise the same type and at least one protocol all members support.
    func supportsProtocols(type: String, names: [String]) -> Bool {
        if members.isEmpty { return !type.isEmpty && !names.isEmpty }
        guard protocolType == type else { return false }
        let candidates = candidateProtocols
        return names.contains(where: candidates.contains)
    }

    /// The protocol chosen by vote: each member votes for its most preferred candidate and the
    /// most votes win; ties go to the earliest member's preference. nil if there is no
    /// candidate (the join checks prevent that).
    func selectProtocol() -> String? {
        let candidates = candidateProtocols
        guard !candidates.isEmpty else { return nil }
        var votes: [String: Int] = [:]
        let ordered = sortedMembers
        for member in ordered {
            if let vote = member.protocols.first(where: { candidates.contains($0.name) })?.name {
                votes[vote, default: 0] += 1
            }
        }
        let best = votes.values.max() ?? 0
        let preference = ordered.first?.protocols.map(\.name) ?? []
        return preference.first { votes[$0] == best }
            ?? votes.filter { $0.value == best }.keys.sorted().first
    }

    /// Every member with its metadata for the chosen protocol, as the leader receives it.
    func currentMemberMetadata() -> [JoinedMember] {
        guard let protocolName else { return [] }
        return sortedMembers.map {
            JoinedMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId,
                         metadata: $0.metadata(forProtocol: protocolName) ?? ByteBuffer())
        }
    }

    func computeSubscribedTopics() -> Set<String>? {
        guard protocolType == ConsumerGroupProtocol.type else { return nil }
        if members.isEmpty { return [] }
        guard let protocolName else { return nil }
        var topics: Set<String> = []
        for member in members.values {
            guard let metadata = member.metadata(forProtocol: protocolName),
                  let memberTopics = ConsumerProtocolSubscription.topics(from: metadata) else { return nil }
            topics.formUnion(memberTopics)
        }
        return topics
    }

    /// True when OffsetDelete must refuse `topic`: the group's members consume it. A
    /// `consumer` group whose subscriptions cannot be read is treated as subscribed to
    /// everything, so offsets in use are never deleted by mistake.
    func isSubscribed(to topic: String) -> Bool {
        guard let subscribedTopics else { return true }
        return subscribedTopics.contains(topic)
    }

    // MARK: Persistence

    /// The group metadata record for the current state. `assignments` overrides the members'
    /// stored assignments (the leader's SyncGroup is written before it takes effect).
    func metadataValue(assignments: [String: ByteBuffer]? = nil) -> GroupMetadataValue {
        GroupMetadataValue(
            protocolType: protocolType ?? "",
            generation: generationId,
            protocol: protocolName,
            leader: leaderId,
            currentStateTimestamp: currentStateTimestampMs ?? -1,
            members: sortedMembers.map { m in
                GroupMetadataValue.MemberMetadata(
                    memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                    clientHost: m.clientHost, rebalanceTimeout: m.rebalanceTimeoutMs,
                    sessionTimeout: m.sessionTimeoutMs,
                    subscription: protocolName.flatMap { m.metadata(forProtocol: $0) } ?? ByteBuffer(),
                    assignment: assignments?[m.memberId] ?? m.assignment)
            })
    }

    /// Rebuilds a group from its last group metadata record (on coordinator load): Stable
    /// with its members and assignments, or Empty. Loaded members must heartbeat within their
    /// session timeout (the coordinator arms the timers).
    public init(groupId: String, loadedFrom value: GroupMetadataValue, now: Int64) {
        self.groupId = groupId
        self.protocolType = value.protocolType.isEmpty ? nil : value.protocolType
        self.generationId = value.generation
        self.protocolName = value.`protocol`
        self.leaderId = value.members.isEmpty ? nil : value.leader
        self.currentStateTimestampMs = value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : now
        for m in value.members {
            let member = GroupMember(
                memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                clientHost: m.clientHost,
                rebalanceTimeoutMs: m.rebalanceTimeout >= 0 ? m.rebalanceTimeout : m.sessionTimeout,
                sessionTimeoutMs: m.sessionTimeout, protocolType: value.protocolType,
                protocols: [GroupProtocolMetadata(name: value.`protocol` ?? "", metadata: m.subscription)],
                assignment: m.assignment, awaitingJoin: nil, awaitingSync: nil, isNew: false,
                joinSequence: nextJoinSequence)
            nextJoinSequence += 1
            members[m.memberId] = member
            if let instanceId = m.groupInstanceId { staticMembers[instanceId] = m.memberId }
        }
        if leaderId.map({ members[$0] == nil }) ?? false { leaderId = sortedMembers.first?.memberId }
        self.state = members.isEmpty ? .empty : .stable
        self.previousState = .empty
        self.subscribedTopics = computeSubscribedTopics()
    }
}

/// Names of the embedded `consumer` protocol.
public enum ConsumerGroupProtocol {
    public static let type = "consumer"
}
