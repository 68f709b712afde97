import NIOCore

// The classic group protocol as events on the `Group` value: JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, timer expiry and "a group record was written". Each event mutates the group and
// returns the actions its owner must perform. The rules follow Kafka's GroupMetadataManager
// (classic groups); where Samsa differs it says so.
//
// Timeline of one rebalance:
//   Join(s) -> PreparingRebalance --(all known members rejoined, or rebalance timeout, or for a
//   new group the initial delay)--> CompletingRebalance: generation+1, protocol chosen, every
//   parked JoinGroup answered (the leader gets the members) --(leader's SyncGroup, its record
//   written)--> Stable: every parked SyncGroup answered with its assignment.

extension Group {
    // MARK: JoinGroup

    /// A JoinGroup. `newMemberId` is the id to hand out if the member needs one (the caller
    /// makes it from the client id and a random UUID, as Kafka does). The request identified
    /// by `token` is answered by a `.completeJoin(token, ...)` action, now or later.
    public mutating func join(_ req: JoinGroupInput, token: RequestToken, newMemberId: String,
                              now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        if state == .dead {
            return [.completeJoin(token, .failure(.coordinatorNotAvailable, memberId: req.memberId))]
        }
        if !supportsProtocols(type: req.protocolType, names: req.protocols.map(\.name)) {
            return [.completeJoin(token, .failure(.inconsistentGroupProtocol, memberId: req.memberId))]
        }
        if req.memberId.isEmpty {
            return joinNewMember(req, token: token, newMemberId: newMemberId, now: now, config: config)
        }
        return joinExistingMember(req, token: token, now: now, config: config)
    }

    private mutating func joinNewMember(_ req: JoinGroupInput, token: RequestToken, newMemberId: String,
                                        now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        if isFull(config: config) {
            return [.completeJoin(token, .failure(.groupMaxSizeReached))]
        }
        if let instanceId = req.groupInstanceId {
            if let oldMemberId = staticMembers[instanceId], members[oldMemberId] != nil {
                return updateStaticMemberThenRebalanceOrCompleteJoin(
                    req, instanceId: instanceId, oldMemberId: oldMemberId, newMemberId: newMemberId,
                    token: token, now: now, config: config)
            }
            // Static members never get MEMBER_ID_REQUIRED: the instance id already names them.
            return addMemberAndRebalance(req, memberId: newMemberId, token: token, now: now, config: config)
        }
        if req.requireKnownMemberId {
            // KIP-394: hand out the id and wait for the member to come back with it, so a
            // client that loses this response does not leave a phantom member behind. The id
            // expires after the session timeout if the member never returns.
            pendingJoinMembers.insert(newMemberId)
            return [.schedule(.heartbeat(memberId: newMemberId), deadlineMs: now + Int64(req.sessionTimeoutMs)),
                    .completeJoin(token, .failure(.memberIdRequired, memberId: newMemberId))]
        }
        return addMemberAndRebalance(req, memberId: newMemberId, token: token, now: now, config: config)
    }

    private mutating func joinExistingMember(_ req: JoinGroupInput, token: RequestToken,
                                             now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        let memberId = req.memberId
        if pendingJoinMembers.contains(memberId) {
            return addMemberAndRebalance(req, memberId: memberId, token: token, now: now, config: config)
        }
        if let error = validateMember(memberId, instanceId: req.groupInstanceId) {
            return [.completeJoin(token, .failure(error, memberId: memberId))]
        }
        guard let member = members[memberId] else {
            return [.completeJoin(token, .failure(.unknownMemberId, memberId: memberId))]
        }
        switch state {
        case .preparingRebalance:
            return updateMemberAndRebalance(memberId, req, token: token, now: now, config: config)
        case .completingRebalance:
            // Same metadata: the member probably lost its JoinGroup response; repeat it.
            if member.matches(req.protocols) {
                return [.completeJoin(token, currentJoinOutcome(for: memberId))]
            }
            return updateMemberAndRebalance(memberId, req, token: token, now: now, config: config)
        case .stable:
            // A follower rejoining with unchanged metadata gets the current generation back;
            // the leader rejoining (it saw a metadata change) or changed metadata rebalances.
            if isLeader(memberId) || !member.matches(req.protocols) {
                return updateMemberAndRebalance(memberId, req, token: token, now: now, config: config)
            }
            return [.completeJoin(token, currentJoinOutcome(for: memberId))]
        case .empty, .dead:
            return [.completeJoin(token, .failure(.unknownMemberId, memberId: memberId))]
        }
    }

    /// The JoinGroup response for the current generation: the leader gets every member.
    func currentJoinOutcome(for memberId: String) -> JoinGroupOutcome {
        JoinGroupOutcome(error: .none, generationId: generationId, protocolType: protocolType,
                         protocolName: protocolName, leader: leaderId ?? "", skipAssignment: false,
                         memberId: memberId, members: isLeader(memberId) ? currentMemberMetadata() : [])
    }

    private mutating func addMemberAndRebalance(_ req: JoinGroupInput, memberId: String, token: RequestToken,
                                                now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        let member = GroupMember(
            memberId: memberId, groupInstanceId: req.groupInstanceId, clientId: req.clientId,
            clientHost: req.clientHost, rebalanceTimeoutMs: req.rebalanceTimeoutMs,
            sessionTimeoutMs: req.sessionTimeoutMs, protocolType: req.protocolType,
            protocols: req.protocols, assignment: ByteBuffer(), awaitingJoin: token, awaitingSync: nil,
            isNew: true, joinSequence: 0)
        // Kafka extends the initial delay when a member arrives during it; it tests
        // generation 0, Samsa tests "the join timer is the initial delay", which is the same
        // for a new group and also covers a group that became empty and fills up again.
        if state == .preparingRebalance && initialRebalanceRemainingMs != nil { newMemberAdded = true }
        add(member)
        var actions: [GroupAction] = [
            .schedule(.heartbeat(memberId: memberId), deadlineMs: now + Int64(config.newMemberJoinTimeoutMs)),
        ]
        actions += maybePrepareRebalanceOrCompleteJoin(now: now, config: config)
        return actions
    }

    private mutating func updateMemberAndRebalance(_ memberId: String, _ req: JoinGroupInput, token: RequestToken,
                                                   now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        var actions: [GroupAction] = []
        // A second JoinGroup while the first still waits (the client timed out and retried):
        // answer the old one so no request is left hanging; the client has moved on.
        if let old = members[memberId]?.awaitingJoin, old != token {
            actions.append(.completeJoin(old, .failure(.rebalanceInProgress, memberId: memberId)))
        }
        members[memberId]?.protocols = req.protocols
        members[memberId]?.rebalanceTimeoutMs = req.rebalanceTimeoutMs
        members[memberId]?.sessionTimeoutMs = req.sessionTimeoutMs
        members[memberId]?.awaitingJoin = token
        actions += maybePrepareRebalanceOrCompleteJoin(now: now, config: config)
        return actions
    }

    /// A static member came back with a new process (empty member id, known instance id): its
    /// new member id replaces the old one. In a Stable group whose chosen protocol does not
    /// change there is no rebalance: the group record is written and the member keeps its
    /// assignment (KIP-345).
    private mutating func updateStaticMemberThenRebalanceOrCompleteJoin(
        _ req: JoinGroupInput, instanceId: String, oldMemberId: String, newMemberId: String,
        token: RequestToken, now: Int64, config: GroupCoordinatorConfig
    ) -> [GroupAction] {
        guard let old = members[oldMemberId] else { return [] }
        let previousLeader = leaderId
        var actions = replaceStaticMember(instanceId: instanceId, oldMemberId: oldMemberId, newMemberId: newMemberId)
        members[newMemberId]?.protocols = req.protocols
        members[newMemberId]?.rebalanceTimeoutMs = req.rebalanceTimeoutMs
        members[newMemberId]?.sessionTimeoutMs = req.sessionTimeoutMs
        members[newMemberId]?.awaitingJoin = token
        actions.append(.schedule(.heartbeat(memberId: newMemberId), deadlineMs: now + Int64(req.sessionTimeoutMs)))
        switch state {
        case .stable:
            if selectProtocol() == protocolName {
                let rejoin = StaticMemberRejoin(
                    token: token, groupInstanceId: instanceId, oldMemberId: oldMemberId, newMemberId: newMemberId,
                    oldProtocols: old.protocols, oldRebalanceTimeoutMs: old.rebalanceTimeoutMs,
                    oldSessionTimeoutMs: old.sessionTimeoutMs, previousLeader: previousLeader,
                    supportsSkipAssignment: req.supportsSkipAssignment)
                actions.append(.persistGroup(metadataValue(), purpose: .staticMemberRejoin(rejoin)))
            } else {
                actions += prepareRebalance(now: now, config: config)
            }
        case .completingRebalance, .empty:
            // The leader may already be assigning to the old member id: rebalance.
            actions += prepareRebalance(now: now, config: config)
        case .preparingRebalance:
            actions += maybeCompleteJoinPhase(now: now, config: config)
        case .dead:
            break
        }
        return actions
    }

    /// Moves a static member to a new member id, fencing whatever the old id still had parked.
    private mutating func replaceStaticMember(instanceId: String, oldMemberId: String,
                                              newMemberId: String) -> [GroupAction] {
        guard var member = members.removeValue(forKey: oldMemberId) else { return [] }
        var actions: [GroupAction] = [.cancel(.heartbeat(memberId: oldMemberId))]
        if let t = member.awaitingJoin {
            actions.append(.completeJoin(t, .failure(.fencedInstanceId, memberId: oldMemberId)))
        }
        if let t = member.awaitingSync { actions.append(.completeSync(t, .failure(.fencedInstanceId))) }
        member.awaitingJoin = nil
        member.awaitingSync = nil
        member.memberId = newMemberId
        members[newMemberId] = member
        staticMembers[instanceId] = newMemberId
        if leaderId == oldMemberId { leaderId = newMemberId }
        if pendingSyncMembers.remove(oldMemberId) != nil { pendingSyncMembers.insert(newMemberId) }
        return actions
    }

    // MARK: Rebalance phases

    private mutating func maybePrepareRebalanceOrCompleteJoin(now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        switch state {
        case .stable, .completingRebalance, .empty: prepareRebalance(now: now, config: config)
        case .preparingRebalance: maybeCompleteJoinPhase(now: now, config: config)
        case .dead: []
        }
    }

    /// Starts a join phase. A new (empty) group waits `group.initial.rebalance.delay.ms` for
    /// more members; otherwise the phase ends when every member rejoined or after the
    /// rebalance timeout.
    mutating func prepareRebalance(now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        var actions: [GroupAction] = []
        if state == .completingRebalance {
            actions += resetAndPropagateAssignment(error: .rebalanceInProgress)
        }
        if !pendingSyncMembers.isEmpty || state == .completingRebalance || state == .stable {
            pendingSyncMembers.removeAll()
            actions.append(.cancel(.pendingSync))
        }
        let isInitialRebalance = state == .empty
        transition(to: .preparingRebalance, now: now)
        if isInitialRebalance {
            let delay = config.groupInitialRebalanceDelayMs
            initialRebalanceRemainingMs = max(rebalanceTimeoutMs - delay, 0)
            newMemberAdded = false
            actions.append(.schedule(.join, deadlineMs: now + Int64(delay)))
        } else {
            initialRebalanceRemainingMs = nil
            if hasAllMembersJoined {
                actions += completeJoinPhase(now: now, config: config)
            } else {
                actions.append(.schedule(.join, deadlineMs: now + Int64(rebalanceTimeoutMs)))
            }
        }
        return actions
    }

    /// Ends the join phase early once everybody is in, except for a new group, which always
    /// waits for its initial delay.
    mutating func maybeCompleteJoinPhase(now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        guard state == .preparingRebalance, hasAllMembersJoined, previousState != .empty else { return [] }
        return completeJoinPhase(now: now, config: config)
    }

    /// Ends the join phase: drops dynamic members that did not rejoin, starts the next
    /// generation and answers every parked JoinGroup.
    mutating func completeJoinPhase(now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        var actions: [GroupAction] = [.cancel(.join)]
        initialRebalanceRemainingMs = nil
        guard state == .preparingRebalance else { return actions }
        // Members that did not rejoin in time (their last JoinGroup response was lost, or they
        // are gone). Static members stay until their session expires.
        for member in sortedMembers where !member.isAwaitingJoin && !member.isStatic {
            remove(member.memberId)
            actions.append(.cancel(.heartbeat(memberId: member.memberId)))
        }
        if !members.isEmpty && !maybeElectNewJoinedLeader() {
            // Only static members that have not rejoined are left: wait for them (or for their
            // sessions to expire) for another rebalance timeout.
            actions.append(.schedule(.join, deadlineMs: now + Int64(rebalanceTimeoutMs)))
            return actions
        }
        initNextGeneration(now: now)
        if state == .empty {
            actions.append(.persistGroup(metadataValue(), purpose: .bookkeeping))
            return actions
        }
        let everyone = currentMemberMetadata()
        for member in sortedMembers {
            guard let token = member.awaitingJoin else { continue }
            actions.append(.completeJoin(token, JoinGroupOutcome(
                error: .none, generationId: generationId, protocolType: protocolType,
                protocolName: protocolName, leader: leaderId ?? "", skipAssignment: false,
                memberId: member.memberId, members: isLeader(member.memberId) ? everyone : [])))
            members[member.memberId]?.awaitingJoin = nil
            members[member.memberId]?.isNew = false
            actions.append(.schedule(.heartbeat(memberId: member.memberId),
                                     deadlineMs: now + Int64(member.sessionTimeoutMs)))
        }
        pendingSyncMembers = Set(members.keys)
        actions.append(.schedule(.pendingSync, deadlineMs: now + Int64(rebalanceTimeoutMs)))
        return actions
    }

    /// Keeps the leader if it rejoined, else makes the earliest rejoined member the leader.
    /// False when no member rejoined.
    private mutating func maybeElectNewJoinedLeader() -> Bool {
        if let leaderId, members[leaderId]?.isAwaitingJoin == true { return true }
        guard let joined = sortedMembers.first(where: \.isAwaitingJoin) else { return false }
        leaderId = joined.memberId
        return true
    }

    private mutating func initNextGeneration(now: Int64) {
        generationId &+= 1
        if members.isEmpty {
            protocolName = nil
            subscribedTopics = computeSubscribedTopics()
            transition(to: .empty, now: now)
        } else {
            protocolName = selectProtocol()
            subscribedTopics = computeSubscribedTopics()
            transition(to: .completingRebalance, now: now)
        }
    }

    /// Clears every assignment and answers parked SyncGroups with `error` (a rebalance
    /// started, or the leader's assignment could not be written).
    private mutating func resetAndPropagateAssignment(error: GroupErrorCode) -> [GroupAction] {
        var actions: [GroupAction] = []
        for member in sortedMembers {
            members[member.memberId]?.assignment = ByteBuffer()
            if let token = member.awaitingSync {
                actions.append(.completeSync(token, .failure(error)))
                members[member.memberId]?.awaitingSync = nil
            }
        }
        return actions
    }

    // MARK: SyncGroup

    /// A SyncGroup. Followers wait (parked) for the leader's; the leader's assignment is
    /// written to the log before anyone gets it.
    public mutating func sync(_ req: SyncGroupInput, token: RequestToken, now: Int64) -> [GroupAction] {
        if state == .dead { return [.completeSync(token, .failure(.coordinatorNotAvailable))] }
        if let error = validateMember(req.memberId, instanceId: req.groupInstanceId) {
            return [.completeSync(token, .failure(error))]
        }
        if req.generationId != generationId { return [.completeSync(token, .failure(.illegalGeneration))] }
        if isInconsistent(req.protocolType, protocolType) || isInconsistent(req.protocolName, protocolName) {
            return [.completeSync(token, .failure(.inconsistentGroupProtocol))]
        }
        let memberId = req.memberId
        switch state {
        case .empty, .dead:
            return [.completeSync(token, .failure(.unknownMemberId))]
        case .preparingRebalance:
            return [.completeSync(token, .failure(.rebalanceInProgress))]
        case .completingRebalance:
            var actions: [GroupAction] = []
            if let old = members[memberId]?.awaitingSync, old != token {
                actions.append(.completeSync(old, .failure(.rebalanceInProgress)))
            }
            members[memberId]?.awaitingSync = token
            actions += removePendingSyncMember(memberId)
            if isLeader(memberId) {
                var assignments: [String: ByteBuffer] = [:]
                for (id, assignment) in req.assignments where members[id] != nil { assignments[id] = assignment }
                for id in members.keys where assignments[id] == nil { assignments[id] = ByteBuffer() }
                actions.append(.persistGroup(metadataValue(assignments: assignments),
                                             purpose: .syncAssignment(generationId: generationId,
                                                                      assignments: assignments)))
            }
            return actions
        case .stable:
            // The group already has this generation's assignment (a retried SyncGroup, or a
            // static member that rejoined without a rebalance).
            var actions = removePendingSyncMember(memberId)
            let member = members[memberId]
            actions.append(.completeSync(token, SyncGroupOutcome(
                error: .none, protocolType: protocolType, protocolName: protocolName,
                assignment: member?.assignment ?? ByteBuffer())))
            if let member {
                actions.append(.schedule(.heartbeat(memberId: memberId),
                                         deadlineMs: now + Int64(member.sessionTimeoutMs)))
            }
            return actions
        }
    }

    private func isInconsistent(_ requested: String?, _ current: String?) -> Bool {
        guard let requested, let current else { return false }
        return requested != current
    }

    private mutating func removePendingSyncMember(_ memberId: String) -> [GroupAction] {
        guard pendingSyncMembers.remove(memberId) != nil, pendingSyncMembers.isEmpty else { return [] }
        return [.cancel(.pendingSync)]
    }

    // MARK: Group record written

    /// The record asked for by a `.persistGroup` action was written (`error == .none`) or
    /// could not be.
    public mutating func groupPersisted(_ purpose: GroupPersistPurpose, error: GroupErrorCode,
                                        now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        switch purpose {
        case .bookkeeping:
            return []
        case .syncAssignment(let generation, let assignments):
            // A rebalance may have started while the record was being written.
            guard state == .completingRebalance, generationId == generation else { return [] }
            if error != .none {
                var actions = resetAndPropagateAssignment(error: error)
                actions += prepareRebalance(now: now, config: config)
                return actions
            }
            var actions: [GroupAction] = []
            for member in sortedMembers {
                members[member.memberId]?.assignment = assignments[member.memberId] ?? ByteBuffer()
                if let token = member.awaitingSync {
                    actions.append(.completeSync(token, SyncGroupOutcome(
                        error: .none, protocolType: protocolType, protocolName: protocolName,
                        assignment: assignments[member.memberId] ?? ByteBuffer())))
                    members[member.memberId]?.awaitingSync = nil
                    actions.append(.schedule(.heartbeat(memberId: member.memberId),
                                             deadlineMs: now + Int64(member.sessionTimeoutMs)))
                }
            }
            transition(to: .stable, now: now)
            return actions
        case .staticMemberRejoin(let rejoin):
            guard members[rejoin.newMemberId]?.awaitingJoin == rejoin.token else { return [] }
            members[rejoin.newMemberId]?.awaitingJoin = nil
            if error != .none {
                // Undo the replacement: the old member id stays valid.
                members[rejoin.newMemberId]?.protocols = rejoin.oldProtocols
                members[rejoin.newMemberId]?.rebalanceTimeoutMs = rejoin.oldRebalanceTimeoutMs
                members[rejoin.newMemberId]?.sessionTimeoutMs = rejoin.oldSessionTimeoutMs
                var actions = replaceStaticMember(instanceId: rejoin.groupInstanceId,
                                                  oldMemberId: rejoin.newMemberId, newMemberId: rejoin.oldMemberId)
                actions.append(.schedule(.heartbeat(memberId: rejoin.oldMemberId),
                                         deadlineMs: now + Int64(rejoin.oldSessionTimeoutMs)))
                actions.append(.completeJoin(rejoin.token, JoinGroupOutcome(
                    error: error, generationId: generationId, protocolType: protocolType,
                    protocolName: protocolName, leader: rejoin.previousLeader ?? "", skipAssignment: false,
                    memberId: "", members: [])))
                return actions
            }
            let outcome: JoinGroupOutcome
            if rejoin.supportsSkipAssignment {
                // JoinGroup v9+: the static leader learns it leads (and sees the members) but
                // must not run the assignor, whose result a stable group would ignore.
                let leads = isLeader(rejoin.newMemberId)
                outcome = JoinGroupOutcome(
                    error: .none, generationId: generationId, protocolType: protocolType,
                    protocolName: protocolName, leader: leaderId ?? "", skipAssignment: leads,
                    memberId: rejoin.newMemberId, members: leads ? currentMemberMetadata() : [])
            } else {
                // Older clients are told the previous leader id, so a rejoining static leader
                // does not believe it leads and does not assign.
                outcome = JoinGroupOutcome(
                    error: .none, generationId: generationId, protocolType: protocolType,
                    protocolName: protocolName, leader: rejoin.previousLeader ?? "", skipAssignment: false,
                    memberId: rejoin.newMemberId, members: [])
            }
            return [.completeJoin(rejoin.token, outcome)]
        }
    }

    // MARK: Heartbeat

    /// A Heartbeat. It keeps the member alive in every state but Empty, and tells it to
    /// rejoin (REBALANCE_IN_PROGRESS) during a join phase.
    public mutating func heartbeat(memberId: String, instanceId: String?, generationId requested: Int32,
                                   now: Int64) -> (GroupErrorCode, [GroupAction]) {
        if state == .dead { return (.coordinatorNotAvailable, []) }
        if let error = validateMember(memberId, instanceId: instanceId) { return (error, []) }
        if requested != generationId { return (.illegalGeneration, []) }
        guard let member = members[memberId] else { return (.unknownMemberId, []) }
        let rearm = GroupAction.schedule(.heartbeat(memberId: memberId),
                                         deadlineMs: now + Int64(member.sessionTimeoutMs))
        switch state {
        case .empty, .dead: return (.unknownMemberId, [])
        case .preparingRebalance: return (.rebalanceInProgress, [rearm])
        case .completingRebalance, .stable: return (.none, [rearm])
        }
    }

    // MARK: LeaveGroup

    /// A LeaveGroup for one member (v0-2) or several, by member id or instance id (v3+).
    public mutating func leave(_ leaving: [LeavingMember], now: Int64,
                               config: GroupCoordinatorConfig) -> (LeaveGroupOutcome, [GroupAction]) {
        if state == .dead {
            return (LeaveGroupOutcome(error: .coordinatorNotAvailable, members: leaving.map { ($0, .coordinatorNotAvailable) }), [])
        }
        var actions: [GroupAction] = []
        var results: [(member: LeavingMember, error: GroupErrorCode)] = []
        for member in leaving {
            if let instanceId = member.groupInstanceId {
                guard let current = staticMembers[instanceId] else {
                    results.append((member, .unknownMemberId))
                    continue
                }
                if !member.memberId.isEmpty && member.memberId != current {
                    results.append((member, .fencedInstanceId))
                    continue
                }
                actions += removeMemberAndUpdateGroup(current, now: now, config: config)
                results.append((member, .none))
            } else if pendingJoinMembers.remove(member.memberId) != nil {
                actions.append(.cancel(.heartbeat(memberId: member.memberId)))
                actions += maybeCompleteJoinPhase(now: now, config: config)
                results.append((member, .none))
            } else if members[member.memberId] != nil {
                actions += removeMemberAndUpdateGroup(member.memberId, now: now, config: config)
                results.append((member, .none))
            } else {
                results.append((member, .unknownMemberId))
            }
        }
        return (LeaveGroupOutcome(error: .none, members: results), actions)
    }

    /// Removes a member (left, or its session expired) and rebalances the rest.
    mutating func removeMemberAndUpdateGroup(_ memberId: String, now: Int64,
                                             config: GroupCoordinatorConfig) -> [GroupAction] {
        guard let member = members[memberId] else { return [] }
        var actions: [GroupAction] = [.cancel(.heartbeat(memberId: memberId))]
        // UNKNOWN_MEMBER_ID makes a still-running client start over with a fresh join.
        if let t = member.awaitingJoin { actions.append(.completeJoin(t, .failure(.unknownMemberId, memberId: memberId))) }
        if let t = member.awaitingSync { actions.append(.completeSync(t, .failure(.unknownMemberId))) }
        remove(memberId)
        switch state {
        case .stable, .completingRebalance: actions += prepareRebalance(now: now, config: config)
        case .preparingRebalance: actions += maybeCompleteJoinPhase(now: now, config: config)
        case .empty, .dead: break
        }
        return actions
    }

    // MARK: Timers

    /// A timer armed by a `.schedule` action expired (and was not re-armed or cancelled since).
    public mutating func timerFired(_ timer: GroupTimer, now: Int64, config: GroupCoordinatorConfig) -> [GroupAction] {
        switch timer {
        case .join:
            guard state == .preparingRebalance else { return [] }
            if let remaining = initialRebalanceRemainingMs, newMemberAdded, remaining > 0 {
                newMemberAdded = false
                let delay = min(config.groupInitialRebalanceDelayMs, remaining)
                initialRebalanceRemainingMs = max(remaining - delay, 0)
                return [.schedule(.join, deadlineMs: now + Int64(delay))]
            }
            return completeJoinPhase(now: now, config: config)
        case .heartbeat(let memberId):
            if pendingJoinMembers.remove(memberId) != nil {
                return maybeCompleteJoinPhase(now: now, config: config)
            }
            guard let member = members[memberId], !member.hasSatisfiedHeartbeatWhileWaiting else { return [] }
            return removeMemberAndUpdateGroup(memberId, now: now, config: config)
        case .pendingSync:
            guard state == .completingRebalance || state == .stable, !pendingSyncMembers.isEmpty else { return [] }
            // Members that got their JoinGroup response but never synced are gone.
            var actions: [GroupAction] = []
            for memberId in pendingSyncMembers.sorted() {
                guard let member = members[memberId] else { continue }
                if let t = member.awaitingJoin { actions.append(.completeJoin(t, .failure(.unknownMemberId, memberId: memberId))) }
                if let t = member.awaitingSync { actions.append(.completeSync(t, .failure(.unknownMemberId))) }
                remove(memberId)
                actions.append(.cancel(.heartbeat(memberId: memberId)))
            }
            pendingSyncMembers.removeAll()
            actions += prepareRebalance(now: now, config: config)
            return actions
        }
    }
}
