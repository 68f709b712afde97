import NIOCore

// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: checks that need no group, then the
// group's state machine.

extension GroupCoordinator {
    /// A JoinGroup; returns when the member has its answer, which for a successful join is
    /// when the join phase of the rebalance completes.
    public func joinGroup(groupId: String, _ input: JoinGroupInput) async -> JoinGroupOutcome {
        if let error = unavailableError { return .failure(error, memberId: input.memberId) }
        if groupId.isEmpty { return .failure(.invalidGroupId, memberId: input.memberId) }
        if input.sessionTimeoutMs < config.groupMinSessionTimeoutMs
            || input.sessionTimeoutMs > config.groupMaxSessionTimeoutMs {
            return .failure(.invalidSessionTimeout, memberId: input.memberId)
        }
        let now = scheduler.nowMs()
        if groups[groupId] == nil {
            // Only a member without an id may create a group; an id for a group that does
            // not exist is stale (the group expired or was deleted).
            guard input.memberId.isEmpty else { return .failure(.unknownMemberId, memberId: input.memberId) }
            groups[groupId] = Group(groupId: groupId, now: now)
        }
        let token = makeToken()
        let newMemberId = newMemberId(clientId: input.clientId)
        return await withCheckedContinuation { continuation in
            joinWaiters[token] = continuation
            let actions = groups[groupId]!.join(input, token: token, newMemberId: newMemberId,
                                                now: now, config: config)
            perform(actions, groupId: groupId)
        }
    }

    /// A SyncGroup; a follower's returns once the leader's assignment is stored.
    public func syncGroup(groupId: String, _ input: SyncGroupInput) async -> SyncGroupOutcome {
        if let error = unavailableError { return .failure(error) }
        if groupId.isEmpty { return .failure(.invalidGroupId) }
        guard groups[groupId] != nil else { return .failure(.unknownMemberId) }
        let token = makeToken()
        let now = scheduler.nowMs()
        return await withCheckedContinuation { continuation in
            syncWaiters[token] = continuation
            let actions = groups[groupId]!.sync(input, token: token, now: now)
            perform(actions, groupId: groupId)
        }
    }

    public func heartbeat(groupId: String, memberId: String, groupInstanceId: String?,
                          generationId: Int32) -> GroupErrorCode {
        if let error = unavailableError { return error }
        if groupId.isEmpty { return .invalidGroupId }
        guard groups[groupId] != nil else { return .unknownMemberId }
        let (error, actions) = groups[groupId]!.heartbeat(
            memberId: memberId, instanceId: groupInstanceId, generationId: generationId, now: scheduler.nowMs())
        perform(actions, groupId: groupId)
        return error
    }

    public func leaveGroup(groupId: String, members: [LeavingMember]) -> LeaveGroupOutcome {
        if let error = unavailableError { return LeaveGroupOutcome(error: error, members: []) }
        if groupId.isEmpty { return LeaveGroupOutcome(error: .invalidGroupId, members: []) }
        guard groups[groupId] != nil else {
            return LeaveGroupOutcome(error: .none, members: members.map { ($0, .unknownMemberId) })
        }
        let (outcome, actions) = groups[groupId]!.leave(members, now: scheduler.nowMs(), config: config)
        perform(actions, groupId: groupId)
        return outcome
    }
}
