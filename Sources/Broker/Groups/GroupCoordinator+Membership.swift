import NIOCore

// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: checks that need no group, then the
// group's state machine.

extension GroupCoordinator {
    /// A JoinGroup; returns when the member has its answer, which for a successful join is
    /// when the join phase of the rebalance completes.
    public func joinGroup(groupId: String, _ input: JoinGroupInput) async -> JoinGroupOutcome {
        if let error = unavailableError(for: groupId) { return .failure(error, memberId: input.memberId) }
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
            waiterGroups[token] = groupId
            update(groupId, cause: "JoinGroup from \(input.memberId.isEmpty ? newMemberId : input.memberId)"
                   + (input.reason.map { " (\($0))" } ?? "")) {
                $0.join(input, token: token, newMemberId: newMemberId, now: now, config: config)
            }
        }
    }

    /// A SyncGroup; a follower's returns once the leader's assignment is stored.
    public func syncGroup(groupId: String, _ input: SyncGroupInput) async -> SyncGroupOutcome {
        if let error = unavailableError(for: groupId) { return .failure(error) }
        if groupId.isEmpty { return .failure(.invalidGroupId) }
        guard groups[groupId] != nil else { return .failure(.unknownMemberId) }
        let token = makeToken()
        let now = scheduler.nowMs()
        return await withCheckedContinuation { continuation in
            syncWaiters[token] = continuation
            waiterGroups[token] = groupId
            update(groupId, cause: "SyncGroup from \(input.memberId)") { $0.sync(input, token: token, now: now) }
        }
    }

    public func heartbeat(groupId: String, memberId: String, groupInstanceId: String?,
                          generationId: Int32) -> GroupErrorCode {
        if let error = unavailableError(for: groupId) { return error }
        if groupId.isEmpty { return .invalidGroupId }
        guard groups[groupId] != nil else { return .unknownMemberId }
        var error = GroupErrorCode.none
        let now = scheduler.nowMs()
        update(groupId, cause: "Heartbeat") { group in
            let (result, actions) = group.heartbeat(memberId: memberId, instanceId: groupInstanceId,
                                                    generationId: generationId, now: now)
            error = result
            return actions
        }
        return error
    }

    public func leaveGroup(groupId: String, members: [LeavingMember]) -> LeaveGroupOutcome {
        if let error = unavailableError(for: groupId) { return LeaveGroupOutcome(error: error, members: []) }
        if groupId.isEmpty { return LeaveGroupOutcome(error: .invalidGroupId, members: []) }
        guard groups[groupId] != nil else {
            return LeaveGroupOutcome(error: .none, members: members.map { ($0, .unknownMemberId) })
        }
        var outcome = LeaveGroupOutcome(error: .none, members: [])
        let now = scheduler.nowMs()
        update(groupId, cause: "LeaveGroup of \(members.map { $0.groupInstanceId ?? $0.memberId })"
               + members.compactMap(\.reason).map { " (\($0))" }.joined()) { group in
            let (result, actions) = group.leave(members, now: now, config: config)
            outcome = result
            return actions
        }
        return outcome
    }
}
