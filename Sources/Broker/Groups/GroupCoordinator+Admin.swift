import NIOCore

// FindCoordinator, ListGroups, DescribeGroups and DeleteGroups.

extension GroupCoordinator {
    /// FindCoordinator for one key. This broker coordinates every group (a single node owns
    /// every `__consumer_offsets` partition); there is no transaction coordinator.
    public nonisolated func findCoordinator(key: String, keyType: Int8, listenerName: String)
        -> (error: GroupErrorCode, message: String?, node: CoordinatorNode?) {
        switch keyType {
        case 0:
            if let coordinatorFor {
                switch coordinatorFor(consumerOffsetsPartition(for: key, partitionCount: store.partitionCount), listenerName) {
                case .node(let node): return (.none, nil, node)
                case .unavailable(let why): return (.coordinatorNotAvailable, why, nil)
                }
            }
            guard let node = localNode(listenerName) else {
                return (.coordinatorNotAvailable, "no endpoint for listener \(listenerName)", nil)
            }
            return (.none, nil, node)
        case 1:
            return (.coordinatorNotAvailable, "this broker has no transaction coordinator", nil)
        default:
            return (.invalidRequest, "unknown coordinator key type \(keyType)", nil)
        }
    }

    /// ListGroups. `states` and `types` are ListGroups v4/v5 filters (case-insensitive;
    /// empty = all). Every group here is a classic group.
    public func listGroups(states: [String] = [], types: [String] = [])
        -> (error: GroupErrorCode, groups: [GroupListing]) {
        if let error = unavailableError { return (error, []) }
        // Kafka answers COORDINATOR_LOAD_IN_PROGRESS while any offsets partition is loading.
        if owned.values.contains(where: { $0 != .active }) { return (.coordinatorLoadInProgress, []) }
        let wantedStates = Set(states.map { $0.lowercased() })
        let wantedTypes = Set(types.map { $0.lowercased() })
        let listings = groups.values
            .filter { $0.state != .dead }
            .filter { wantedStates.isEmpty || wantedStates.contains($0.state.kafkaName.lowercased()) }
            .filter { _ in wantedTypes.isEmpty || wantedTypes.contains("classic") }
            .sorted { $0.groupId < $1.groupId }
            .map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType ?? "",
                                state: $0.state, groupType: "classic") }
        return (.none, listings)
    }

    /// DescribeGroups. Member metadata, assignments and the protocol are shown only while
    /// the group is Stable, as Kafka does.
    public func describeGroups(_ groupIds: [String]) -> [GroupDescription] {
        groupIds.map { groupId in
            if let error = unavailableError(for: groupId) {
                return GroupDescription(groupId: groupId, error: error, state: "", protocolType: "",
                                        protocolData: "", members: [])
            }
            guard let group = groups[groupId] else {
                return GroupDescription(groupId: groupId, error: .none, state: GroupState.dead.kafkaName,
                                        protocolType: "", protocolData: "", members: [])
            }
            let stable = group.state == .stable
            let protocolName = stable ? group.protocolName : nil
            return GroupDescription(
                groupId: groupId, error: .none, state: group.state.kafkaName,
                protocolType: group.protocolType ?? "", protocolData: protocolName ?? "",
                members: group.sortedMembers.map { m in
                    MemberDescription(
                        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                        clientHost: m.clientHost,
                        metadata: protocolName.flatMap { m.metadata(forProtocol: $0) } ?? ByteBuffer(),
                        assignment: stable ? m.assignment : ByteBuffer())
                })
        }
    }

    /// DeleteGroups: each group must exist and have no members; its offsets and metadata
    /// get tombstones.
    public func deleteGroups(_ groupIds: [String]) async -> [(groupId: String, error: GroupErrorCode)] {
        var results: [(groupId: String, error: GroupErrorCode)] = []
        for groupId in groupIds {
            results.append((groupId, await deleteGroup(groupId)))
        }
        return results
    }

    private func deleteGroup(_ groupId: String) async -> GroupErrorCode {
        if let error = unavailableError(for: groupId) { return error }
        guard let group = groups[groupId] else { return .groupIdNotFound }
        if let error = group.validateDelete() { return error }
        return await withCheckedContinuation { continuation in
            var saved: Group?
            enqueueWrite(partition: partition(for: groupId), PendingWrite(
                // Re-checked when the write starts: a member may have joined meanwhile. The
                // group turns Dead right away so that nothing joins it during the write.
                records: {
                    guard let current = self.groups[groupId] else { throw GroupErrorCode.groupIdNotFound }
                    if let error = current.validateDelete() { throw error }
                    saved = current
                    self.groups[groupId]?.markDead(now: self.scheduler.nowMs())
                    var records = try current.offsets.keys.sorted().map { tp in
                        (key: try GroupRecordKey.offsetCommit(OffsetCommitKey(
                            group: groupId, topic: tp.topic, partition: tp.partition)).encode(), value: ByteBuffer?.none)
                    }
                    records.append((key: try GroupRecordKey.groupMetadata(group: groupId).encode(), value: nil))
                    return records
                },
                completion: { error in
                    if error == .none {
                        self.groups.removeValue(forKey: groupId)
                        self.cancelTimers(groupId: groupId)
                    } else if let saved {
                        // Nothing joined the Dead group, so the saved copy is still exact.
                        self.groups[groupId] = saved
                    }
                    continuation.resume(returning: error)
                }))
        }
    }
}
