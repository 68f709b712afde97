import KafkaProtocol

/// Kafka's `ElectionType` (KIP-460).
public enum ElectionType: Int8, Sendable, Codable, CaseIterable {
    /// Move leadership to the first replica when it is alive and in sync.
    case preferred = 0
    /// Elect a leader for a leaderless partition even from out-of-sync replicas (may lose data).
    case unclean = 1
}

/// One ongoing partition reassignment (ListPartitionReassignments).
public struct PartitionReassignment: Sendable, Hashable, Codable {
    public var topicPartition: TopicPartition
    /// The replicas while the reassignment runs: target followed by those being removed.
    public var replicas: [Int32]
    public var addingReplicas: [Int32]
    public var removingReplicas: [Int32]

    public init(topicPartition: TopicPartition, replicas: [Int32], addingReplicas: [Int32], removingReplicas: [Int32]) {
        self.topicPartition = topicPartition; self.replicas = replicas
        self.addingReplicas = addingReplicas; self.removingReplicas = removingReplicas
    }

    /// The replica set the partition will have when the reassignment completes.
    public var targetReplicas: [Int32] { replicas.filter { !removingReplicas.contains($0) } }
}

extension KafkaAdmin {
    /// Elects leaders (ElectLeaders, api 43; `kafka-leader-election.sh`). `partitions` nil means
    /// every partition; then only partitions that needed an election are in the answer.
    /// Per partition: success, or ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION.
    public func electLeaders(_ type: ElectionType, partitions: [TopicPartition]?) async throws
        -> [TopicPartition: Result<Void, KafkaClientError>] {
        let timeoutMs = Int32(clamping: cluster.config.requestTimeout.milliseconds)
        let connection = try await adminConnection()
        var byTopic: [String: [Int32]] = [:]
        for tp in partitions ?? [] { byTopic[tp.topic, default: []].append(tp.partition) }
        let (response, _) = try await connection.send(supported: 0...2) { version in
            if version == 0, type != .preferred {
                throw KafkaClientError.unsupportedApi(api: "ElectLeaders UNCLEAN", broker: connection.address.description)
            }
            var request = ElectLeadersRequest()
            request.electionType = type.rawValue
            request.timeoutMs = timeoutMs
            request.topicPartitions = partitions == nil ? nil : byTopic.sorted { $0.key < $1.key }.map {
                ElectLeadersRequest.TopicPartitions(topic: $0.key, partitions: $0.value)
            }
            return request
        }
        cluster.markMetadataStale()
        if response.errorCode != 0 { throw KafkaClientError.broker(response.errorCode, "elect leaders") }
        var out: [TopicPartition: Result<Void, KafkaClientError>] = [:]
        for t in response.replicaElectionResults {
            for p in t.partitionResult {
                let tp = TopicPartition(t.topic, p.partitionId)
                out[tp] = p.errorCode == 0 ? .success(()) : .failure(.broker(p.errorCode, "elect leader of \(tp)", message: p.errorMessage))
            }
        }
        return out
    }

    /// Starts (replicas non-nil) or cancels (nil) partition reassignments
    /// (AlterPartitionReassignments, api 45; `kafka-reassign-partitions.sh --execute/--cancel`).
    public func alterPartitionReassignments(_ targets: [TopicPartition: [Int32]?]) async throws
        -> [TopicPartition: Result<Void, KafkaClientError>] {
        guard !targets.isEmpty else { return [:] }
        let timeoutMs = Int32(clamping: cluster.config.requestTimeout.milliseconds)
        let connection = try await adminConnection()
        var byTopic: [String: [AlterPartitionReassignmentsRequest.ReassignablePartition]] = [:]
        for (tp, replicas) in targets.sorted(by: { $0.key < $1.key }) {
            byTopic[tp.topic, default: []].append(.init(partitionIndex: tp.partition, replicas: replicas))
        }
        let (response, _) = try await connection.send(supported: 0...0) { _ in
            AlterPartitionReassignmentsRequest(timeoutMs: timeoutMs, topics: byTopic.sorted { $0.key < $1.key }.map {
                .init(name: $0.key, partitions: $0.value)
            })
        }
        cluster.markMetadataStale()
        if response.errorCode != 0 {
            throw KafkaClientError.broker(response.errorCode, "alter partition reassignments", message: response.errorMessage)
        }
        var out: [TopicPartition: Result<Void, KafkaClientError>] = [:]
        for t in response.responses {
            for p in t.partitions {
                let tp = TopicPartition(t.name, p.partitionIndex)
                out[tp] = p.errorCode == 0 ? .success(()) : .failure(.broker(p.errorCode, "reassign \(tp)", message: p.errorMessage))
            }
        }
        return out
    }

    /// Ongoing reassignments (ListPartitionReassignments, api 46) of `partitions`, or all (nil).
    public func listPartitionReassignments(_ partitions: [TopicPartition]? = nil) async throws -> [PartitionReassignment] {
        let timeoutMs = Int32(clamping: cluster.config.requestTimeout.milliseconds)
        let connection = try await adminConnection()
        var byTopic: [String: [Int32]] = [:]
        for tp in partitions ?? [] { byTopic[tp.topic, default: []].append(tp.partition) }
        let (response, _) = try await connection.send(supported: 0...0) { _ in
            ListPartitionReassignmentsRequest(timeoutMs: timeoutMs, topics: partitions == nil ? nil : byTopic.sorted { $0.key < $1.key }.map {
                .init(name: $0.key, partitionIndexes: $0.value)
            })
        }
        if response.errorCode != 0 {
            throw KafkaClientError.broker(response.errorCode, "list partition reassignments", message: response.errorMessage)
        }
        return response.topics.flatMap { t in
            t.partitions.map {
                PartitionReassignment(topicPartition: TopicPartition(t.name, $0.partitionIndex), replicas: $0.replicas,
                                      addingReplicas: $0.addingReplicas, removingReplicas: $0.removingReplicas)
            }
        }.sorted { $0.topicPartition < $1.topicPartition }
    }

    /// Where controller-bound admin requests go: the broker the cluster names as controller
    /// (a KRaft broker forwards them to the active controller), else any broker.
    func adminConnection() async throws -> BrokerConnection {
        let snapshot = try await cluster.metadata(for: [])
        if snapshot.controllerId >= 0, snapshot.brokers[snapshot.controllerId] != nil,
           let connection = try? await cluster.connection(to: snapshot.controllerId) {
            return connection
        }
        return try await cluster.anyConnection()
    }
}
