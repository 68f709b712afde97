import KafkaProtocol
import NIOCore

extension KafkaAdmin {
    // MARK: Groups

    /// Every group in the cluster: one ListGroups per broker (each lists what it coordinates).
    public func listGroups() async throws -> [GroupListing] {
        let brokers = try await describeCluster().brokers.map(\.nodeId)
        return try await withThrowingTaskGroup(of: [GroupListing].self) { group in
            for id in brokers {
                group.addTask {
                    let connection = try await self.cluster.connection(to: id)
                    let (response, _) = try await connection.send(supported: 0...5) { _ in ListGroupsRequest() }
                    if response.errorCode != 0 { throw KafkaClientError.broker(response.errorCode, "list groups on broker \(id)") }
                    return response.groups.map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.groupState, coordinator: id) }
                }
            }
            var all: [GroupListing] = []
            for try await part in group { all += part }
            return all.sorted { $0.groupId < $1.groupId }
        }
    }

    /// Coordinators of `groups`, failing groups reported per group.
    private func coordinatorsByNode(_ groups: [String]) async throws
        -> (byNode: [Int32: [String]], failures: [String: KafkaClientError]) {
        var byNode: [Int32: [String]] = [:]
        var failures: [String: KafkaClientError] = [:]
        for (group, result) in try await cluster.findCoordinators(groups: groups) {
            switch result {
            case .success(let node): byNode[node, default: []].append(group)
            case .failure(let error): failures[group] = error
            }
        }
        return (byNode, failures)
    }

    /// Describes groups: one FindCoordinator (v4+) and one DescribeGroups per coordinator.
    /// Members' assignments are decoded for "consumer" groups.
    public func describeGroups(_ groups: [String]) async throws -> [String: Result<GroupDescription, KafkaClientError>] {
        let (byNode, failures) = try await coordinatorsByNode(groups)
        var result = failures.mapValues { Result<GroupDescription, KafkaClientError>.failure($0) }
        for (node, ids) in byNode {
            do {
                let connection = try await cluster.connection(to: node)
                let (response, _) = try await connection.send(supported: 0...5) { _ in DescribeGroupsRequest(groups: ids) }
                for g in response.groups {
                    if g.errorCode != 0 {
                        if g.errorCode == ErrorCode.notCoordinator.rawValue { cluster.invalidateCoordinator(group: g.groupId) }
                        result[g.groupId] = .failure(.broker(g.errorCode, "describe group \(g.groupId)"))
                        continue
                    }
                    let members = g.members.map { m in
                        GroupMemberDescription(
                            memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
                            assignment: g.protocolType == "consumer" ? ((try? ConsumerProtocol.decodeAssignment(m.memberAssignment)) ?? []) : [])
                    }
                    result[g.groupId] = .success(GroupDescription(
                        groupId: g.groupId, state: g.groupState, protocolType: g.protocolType, protocolName: g.protocolData,
                        members: members, coordinator: node, errorCode: 0))
                }
            } catch let error as KafkaClientError {
                for id in ids { result[id] = .failure(error) }
            }
        }
        return result
    }

    /// Deletes (empty) groups: one DeleteGroups per coordinator.
    public func deleteGroups(_ groups: [String]) async throws -> [AdminItemResult] {
        let (byNode, failures) = try await coordinatorsByNode(groups)
        var results = failures.map { AdminItemResult(name: $0.key, errorCode: $0.value.errorCode ?? -1, errorMessage: $0.value.description) }
        for (node, ids) in byNode {
            let connection = try await cluster.connection(to: node)
            let (response, _) = try await connection.send(supported: 0...2) { _ in DeleteGroupsRequest(groupsNames: ids) }
            results += response.results.map { AdminItemResult(name: $0.groupId, errorCode: $0.errorCode) }
        }
        return results.sorted { $0.name < $1.name }
    }

    /// Committed offsets of each group (every partition it has committed). Coordinators that
    /// support OffsetFetch v8+ get one request for all their groups; older ones one per group.
    public func committedOffsets(groups: [String]) async throws
        -> [String: Result<[TopicPartition: CommittedOffset], KafkaClientError>] {
        let (byNode, failures) = try await coordinatorsByNode(groups)
        var result = failures.mapValues { Result<[TopicPartition: CommittedOffset], KafkaClientError>.failure($0) }
        for (node, ids) in byNode {
            let connection: BrokerConnection
            do {
                connection = try await cluster.connection(to: node)
            } catch let error as KafkaClientError {
                for id in ids { result[id] = .failure(error) }
                continue
            }
            if connection.version(for: ApiKey.offsetFetch.rawValue, supported: 8...9) != nil {
                let (response, _) = try await connection.send(supported: 8...9) { _ in
                    OffsetFetchRequest(groups: ids.map { OffsetFetchRequest.OffsetFetchRequestGroup(groupId: $0, topics: nil) })
                }
                for g in response.groups {
                    if g.errorCode != 0 {
                        result[g.groupId] = .failure(.broker(g.errorCode, "fetch committed offsets of \(g.groupId)"))
                        continue
                    }
                    var offsets: [TopicPartition: CommittedOffset] = [:]
                    for t in g.topics {
                        for p in t.partitions where p.errorCode == 0 && p.committedOffset >= 0 {
                            offsets[TopicPartition(t.name, p.partitionIndex)] =
                                CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata)
                        }
                    }
                    result[g.groupId] = .success(offsets)
                }
            } else {
                for id in ids {
                    do {
                        result[id] = .success(try await committedOffsets(group: id, partitions: nil, connection: connection))
                    } catch let error as KafkaClientError {
                        result[id] = .failure(error)
                    }
                }
            }
        }
        return result
    }

    /// One group's committed offsets (nil partitions = all it has committed).
    public func committedOffsets(group: String, partitions: [TopicPartition]? = nil) async throws -> [TopicPartition: CommittedOffset] {
        let connection = try await cluster.coordinatorConnection(group: group)
        return try await committedOffsets(group: group, partitions: partitions, connection: connection)
    }

    func committedOffsets(group: String, partitions: [TopicPartition]?, connection: BrokerConnection) async throws
        -> [TopicPartition: CommittedOffset] {
        if connection.version(for: ApiKey.offsetFetch.rawValue, supported: 8...9) != nil {
            // The v8+ layout (one group in a batch) also sidesteps brokers that send a null
            // topic array in v7 responses (Tansu 0.6).
            let (response, _) = try await connection.send(supported: 8...9) { _ in
                OffsetFetchRequest(groups: [OffsetFetchRequest.OffsetFetchRequestGroup(groupId: group, topics: partitions.map { tps in
                    Dictionary(grouping: tps, by: \.topic).sorted { $0.key < $1.key }.map {
                        OffsetFetchRequest.OffsetFetchRequestTopics(name: $0.key, partitionIndexes: $0.value.map(\.partition).sorted())
                    }
                })])
            }
            guard let g = response.groups.first(where: { $0.groupId == group }) else {
                throw KafkaClientError.protocolViolation("OffsetFetch response lacks group \(group)")
            }
            if g.errorCode != 0 {
                if [ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue].contains(g.errorCode) {
                    cluster.invalidateCoordinator(group: group)
                }
                throw KafkaClientError.broker(g.errorCode, "fetch committed offsets of \(group)")
            }
            var offsets: [TopicPartition: CommittedOffset] = [:]
            for t in g.topics {
                for p in t.partitions where p.errorCode == 0 && p.committedOffset >= 0 {
                    offsets[TopicPartition(t.name, p.partitionIndex)] =
                        CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata)
                }
            }
            return offsets
        }
        // v2+ accepts null topics (= all); v1 needs an explicit list.
        let (response, _) = try await connection.send(supported: (partitions == nil ? 2 : 1)...7) { _ in
            OffsetFetchRequest(groupId: group, topics: partitions.map { tps in
                Dictionary(grouping: tps, by: \.topic).sorted { $0.key < $1.key }.map {
                    OffsetFetchRequest.OffsetFetchRequestTopic(name: $0.key, partitionIndexes: $0.value.map(\.partition).sorted())
                }
            })
        }
        if response.errorCode != 0 {
            if [ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue].contains(response.errorCode) {
                cluster.invalidateCoordinator(group: group)
            }
            throw KafkaClientError.broker(response.errorCode, "fetch committed offsets of \(group)")
        }
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for t in response.topics {
            for p in t.partitions where p.errorCode == 0 && p.committedOffset >= 0 {
                offsets[TopicPartition(t.name, p.partitionIndex)] =
                    CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata)
            }
        }
        return offsets
    }

    /// Commits offsets for a group that has no active members (offset resets). The broker
    /// rejects this while the group has members, as Kafka's own tool requires.
    public func commitOffsets(group: String, offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Result<Void, KafkaClientError>] {
        let connection = try await cluster.coordinatorConnection(group: group)
        let (response, _) = try await connection.send(supported: 2...8) { _ in
            var request = OffsetCommitRequest()
            request.groupId = group
            request.generationIdOrMemberEpoch = -1
            request.memberId = ""
            request.topics = Dictionary(grouping: offsets.keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
                OffsetCommitRequest.OffsetCommitRequestTopic(name: topic, partitions: tps.sorted().map {
                    OffsetCommitRequest.OffsetCommitRequestPartition(partitionIndex: $0.partition, committedOffset: offsets[$0]!)
                })
            }
            return request
        }
        var result: [TopicPartition: Result<Void, KafkaClientError>] = [:]
        for t in response.topics {
            for p in t.partitions {
                let tp = TopicPartition(t.name, p.partitionIndex)
                result[tp] = p.errorCode == 0 ? .success(()) : .failure(.broker(p.errorCode, "commit offset of \(group) for \(tp)"))
            }
        }
        return result
    }
}
