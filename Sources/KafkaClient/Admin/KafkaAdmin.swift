import KafkaProtocol
import NIOCore
import NIOPosix

/// The admin facade: topics, configs, cluster, log dirs, groups, offsets, lag, offset resets
/// and record deletion against any Kafka-compatible cluster.
///
/// Requests are batched per broker: describing N topics is one Metadata request; offsets for
/// many partitions are one ListOffsets per partition leader; describing many groups is one
/// FindCoordinator (v4+) plus one DescribeGroups per coordinator. So the number of requests
/// grows with the number of brokers, not with the number of topics or groups.
///
/// Batched operations return per-item results (``AdminItemResult`` or `Result`) so that one
/// failing topic or group does not hide the others; whole-operation failures (no broker
/// reachable, timeouts) throw ``KafkaClientError``.
///
/// Concurrency: thread-safe (`Sendable`); methods may be called concurrently. Call
/// ``close()`` when done to release connections.
public final class KafkaAdmin: Sendable {
    public let cluster: KafkaCluster

    public init(config: ClientConfig, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        cluster = KafkaCluster(config: config, group: group)
    }

    /// Shares an existing cluster core (e.g. with a consumer).
    public init(cluster: KafkaCluster) {
        self.cluster = cluster
    }

    public func close() async { await cluster.close() }

    private var timeoutMs: Int32 { Int32(clamping: cluster.config.requestTimeout.milliseconds) }

    // MARK: Topics

    /// Every topic's name (internal topics such as `__consumer_offsets` only when asked).
    public func listTopics(includeInternal: Bool = false) async throws -> [String] {
        let snapshot = try await cluster.withRetries("list topics") { try await self.cluster.refreshMetadata(topics: nil) }
        return snapshot.topics.values.filter { $0.errorCode == 0 && (includeInternal || !$0.isInternal) }.map(\.name).sorted()
    }

    /// Partitions with leader, replicas, ISR and offline replicas, for `topics` (nil = all), in
    /// one Metadata request. A missing topic comes back with UNKNOWN_TOPIC_OR_PARTITION in
    /// ``TopicInfo/errorCode``.
    public func describeTopics(_ topics: [String]? = nil, includeInternal: Bool = false) async throws -> [TopicInfo] {
        let snapshot = try await cluster.withRetries("describe topics") { try await self.cluster.refreshMetadata(topics: topics) }
        let result: [TopicInfo]
        if let topics {
            result = topics.map { snapshot.topics[$0] ?? TopicInfo(name: $0, partitions: [], errorCode: ErrorCode.unknownTopicOrPartition.rawValue) }
        } else {
            result = snapshot.topics.values.filter { includeInternal || !$0.isInternal }.sorted { $0.name < $1.name }
        }
        return result
    }

    /// The controller if known (KRaft brokers forward controller requests themselves), else any broker.
    private func controllerConnection() async throws -> BrokerConnection {
        let snapshot = try await cluster.metadata(for: [])
        if snapshot.controllerId >= 0, snapshot.brokers[snapshot.controllerId] != nil {
            if let connection = try? await cluster.connection(to: snapshot.controllerId) { return connection }
        }
        return try await cluster.anyConnection()
    }

    /// Creates topics in one CreateTopics request.
    public func createTopics(_ topics: [NewTopic], validateOnly: Bool = false) async throws -> [AdminItemResult] {
        guard !topics.isEmpty else { return [] }
        let timeoutMs = self.timeoutMs
        let connection = try await controllerConnection()
        let (response, _) = try await connection.send(supported: 0...7) { version in
            var request = CreateTopicsRequest()
            request.timeoutMs = timeoutMs
            if validateOnly {
                guard version >= 1 else { throw KafkaClientError.unsupportedApi(api: "CreateTopics validateOnly", broker: connection.address.description) }
                request.validateOnly = true
            }
            request.topics = try topics.map { t in
                if version < 4 && (t.partitions < 0 || t.replicationFactor < 0) {
                    throw KafkaClientError.invalidArgument("broker requires explicit partitions and replication factor for topic \(t.name)")
                }
                return CreateTopicsRequest.CreatableTopic(
                    name: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor,
                    configs: t.configs.sorted { $0.key < $1.key }.map { CreateTopicsRequest.CreatableTopicConfig(name: $0.key, value: $0.value) })
            }
            return request
        }
        cluster.markMetadataStale()
        return response.topics.map { AdminItemResult(name: $0.name, errorCode: $0.errorCode, errorMessage: $0.errorMessage) }
    }

    /// Deletes topics by name in one DeleteTopics request.
    public func deleteTopics(_ names: [String]) async throws -> [AdminItemResult] {
        guard !names.isEmpty else { return [] }
        let timeoutMs = self.timeoutMs
        let connection = try await controllerConnection()
        let (response, _) = try await connection.send(supported: 0...6) { version in
            var request = DeleteTopicsRequest()
            request.timeoutMs = timeoutMs
            if version >= 6 {
                request.topics = names.map { DeleteTopicsRequest.DeleteTopicState(name: $0) }
            } else {
                request.topicNames = names
            }
            return request
        }
        cluster.markMetadataStale()
        return response.responses.map { AdminItemResult(name: $0.name ?? $0.topicId.description, errorCode: $0.errorCode, errorMessage: $0.errorMessage) }
    }

    /// Raises topics' partition counts (`totalCount` is the new total, as in Kafka).
    public func createPartitions(_ totalCounts: [String: Int32], validateOnly: Bool = false) async throws -> [AdminItemResult] {
        guard !totalCounts.isEmpty else { return [] }
        let timeoutMs = self.timeoutMs
        let connection = try await controllerConnection()
        let (response, _) = try await connection.send(supported: 0...3) { _ in
            CreatePartitionsRequest(
                topics: totalCounts.sorted { $0.key < $1.key }.map { CreatePartitionsRequest.CreatePartitionsTopic(name: $0.key, count: $0.value, assignments: nil) },
                timeoutMs: timeoutMs, validateOnly: validateOnly)
        }
        cluster.markMetadataStale()
        return response.results.map { AdminItemResult(name: $0.name, errorCode: $0.errorCode, errorMessage: $0.errorMessage) }
    }

    // MARK: Configs

    /// Config entries of each resource. Broker resources are asked of that broker; topic
    /// resources go to any broker, all in one request.
    public func describeConfigs(_ resources: [ConfigResource], keys: [String]? = nil)
        async throws -> [ConfigResource: Result<[ConfigEntry], KafkaClientError>] {
        var byTarget: [Int32: [ConfigResource]] = [:]
        for r in resources {
            let target: Int32 = (r.type == .broker && !r.name.isEmpty) ? (Int32(r.name) ?? -1) : -1
            byTarget[target, default: []].append(r)
        }
        var result: [ConfigResource: Result<[ConfigEntry], KafkaClientError>] = [:]
        for (target, group) in byTarget {
            let connection = target >= 0 ? try await cluster.connection(to: target) : try await cluster.anyConnection()
            let (response, version) = try await connection.send(supported: 0...4) { _ in
                DescribeConfigsRequest(resources: group.map {
                    DescribeConfigsRequest.DescribeConfigsResource(resourceType: $0.type.rawValue, resourceName: $0.name, configurationKeys: keys)
                })
            }
            for r in response.results {
                let resource = ConfigResource(type: ConfigResourceType(rawValue: r.resourceType) ?? .topic, name: r.resourceName)
                if r.errorCode != 0 {
                    result[resource] = .failure(.broker(r.errorCode, "describe configs of \(r.resourceName)", message: r.errorMessage))
                    continue
                }
                result[resource] = .success(r.configs.map { c in
                    // v0 has isDefault; v1+ reports the source instead (5 = DEFAULT_CONFIG).
                    let isDefault = version == 0 ? c.isDefault : c.configSource == 5
                    return ConfigEntry(name: c.name, value: c.value, isReadOnly: c.readOnly, isDefault: isDefault,
                                       isSensitive: c.isSensitive, source: version == 0 ? -1 : c.configSource)
                }.sorted { $0.name < $1.name })
            }
        }
        return result
    }

    /// Applies config changes. Uses IncrementalAlterConfigs when the broker has it; otherwise
    /// AlterConfigs, which replaces the whole dynamic config, so the current dynamic entries are
    /// read first and the changes merged into them (what Kafka's tools did before KIP-339).
    public func alterConfigs(_ changes: [ConfigResource: [ConfigChange]], validateOnly: Bool = false) async throws -> [AdminItemResult] {
        guard !changes.isEmpty else { return [] }
        var results: [AdminItemResult] = []
        for (resource, list) in changes {
            let connection: BrokerConnection
            if resource.type == .broker, let id = Int32(resource.name) {
                connection = try await cluster.connection(to: id)
            } else {
                connection = try await cluster.anyConnection()
            }
            if connection.version(for: ApiKey.incrementalAlterConfigs.rawValue, supported: 0...1) != nil {
                let (response, _) = try await connection.send(supported: 0...1) { _ in
                    IncrementalAlterConfigsRequest(resources: [
                        IncrementalAlterConfigsRequest.AlterConfigsResource(
                            resourceType: resource.type.rawValue, resourceName: resource.name,
                            configs: list.map { change in
                                switch change {
                                case let .set(name, value):
                                    return IncrementalAlterConfigsRequest.AlterableConfig(name: name, configOperation: 0, value: value)
                                case let .delete(name):
                                    return IncrementalAlterConfigsRequest.AlterableConfig(name: name, configOperation: 1, value: nil)
                                }
                            })
                    ], validateOnly: validateOnly)
                }
                results += response.responses.map { AdminItemResult(name: $0.resourceName, errorCode: $0.errorCode, errorMessage: $0.errorMessage) }
            } else {
                var current: [String: String] = [:]
                if case let .success(entries)? = try await describeConfigs([resource])[resource] {
                    // Source 1/2/3 are the dynamic (alterable) layers that AlterConfigs replaces.
                    for e in entries where [1, 2, 3].contains(e.source) { current[e.name] = e.value }
                }
                for change in list {
                    switch change {
                    case let .set(name, value): current[name] = value
                    case let .delete(name): current[name] = nil
                    }
                }
                let (response, _) = try await connection.send(supported: 0...2) { _ in
                    AlterConfigsRequest(resources: [
                        AlterConfigsRequest.AlterConfigsResource(
                            resourceType: resource.type.rawValue, resourceName: resource.name,
                            configs: current.sorted { $0.key < $1.key }.map { AlterConfigsRequest.AlterableConfig(name: $0.key, value: $0.value) })
                    ], validateOnly: validateOnly)
                }
                results += response.responses.map { AdminItemResult(name: $0.resourceName, errorCode: $0.errorCode, errorMessage: $0.errorMessage) }
            }
        }
        return results
    }

    // MARK: Cluster

    /// Brokers, controller and cluster id (from Metadata, which every broker supports).
    public func describeCluster() async throws -> ClusterDescription {
        let snapshot = try await cluster.withRetries("describe cluster") { try await self.cluster.refreshMetadata(topics: []) }
        return ClusterDescription(clusterId: snapshot.clusterId, controllerId: snapshot.controllerId,
                                  brokers: snapshot.brokers.values.sorted { $0.nodeId < $1.nodeId })
    }

    /// The KRaft controller quorum (DescribeQuorum, api 55, on `__cluster_metadata-0`), as
    /// `kafka-metadata-quorum.sh --bootstrap-server ... describe` asks a broker (which forwards
    /// it to the controller). Nil when the cluster does not implement DescribeQuorum (a
    /// ZooKeeper-era Kafka, some Kafka-compatible brokers): callers show "not reported".
    public func describeQuorum() async throws -> QuorumDescription? {
        try await cluster.withRetries("describe quorum") {
            let connection = try await self.cluster.anyConnection()
            guard connection.brokerVersions(for: ApiKey.describeQuorum.rawValue) != nil else { return nil }
            let (response, _) = try await connection.send(supported: 0...2) { _ in
                var request = DescribeQuorumRequest()
                var topic = DescribeQuorumRequest.TopicData()
                topic.topicName = "__cluster_metadata"
                topic.partitions = [DescribeQuorumRequest.PartitionData(partitionIndex: 0)]
                request.topics = [topic]
                return request
            }
            if response.errorCode != 0 {
                throw KafkaClientError.broker(response.errorCode, "describe quorum", message: response.errorMessage)
            }
            guard let partition = response.topics.first?.partitions.first else {
                throw KafkaClientError.protocolViolation("DescribeQuorum response without the __cluster_metadata partition")
            }
            if partition.errorCode != 0 {
                throw KafkaClientError.broker(partition.errorCode, "describe quorum", message: partition.errorMessage)
            }
            return QuorumDescription(partition)
        }
    }

    /// Log directories of `brokers` (nil = every broker): one DescribeLogDirs per broker.
    public func describeLogDirs(brokers: [Int32]? = nil) async throws -> [Int32: Result<[LogDirDescription], KafkaClientError>] {
        let ids: [Int32]
        if let brokers { ids = brokers } else { ids = try await describeCluster().brokers.map(\.nodeId) }
        return try await withThrowingTaskGroup(of: (Int32, Result<[LogDirDescription], KafkaClientError>).self) { group in
            for id in ids {
                group.addTask {
                    do {
                        let connection = try await self.cluster.connection(to: id)
                        let (response, _) = try await connection.send(supported: 0...4) { _ in DescribeLogDirsRequest(topics: nil) }
                        if response.errorCode != 0 { return (id, .failure(.broker(response.errorCode, "describe log dirs of broker \(id)"))) }
                        return (id, .success(response.results.map { dir in
                            LogDirDescription(
                                broker: id, path: dir.logDir, errorCode: dir.errorCode, totalBytes: dir.totalBytes, usableBytes: dir.usableBytes,
                                replicas: dir.topics.flatMap { t in
                                    t.partitions.map { LogDirReplica(topicPartition: TopicPartition(t.name, $0.partitionIndex), sizeBytes: $0.partitionSize,
                                                                     offsetLag: $0.offsetLag, isFuture: $0.isFutureKey) }
                                })
                        }))
                    } catch let error as KafkaClientError {
                        return (id, .failure(error))
                    }
                }
            }
            var out: [Int32: Result<[LogDirDescription], KafkaClientError>] = [:]
            for try await (id, r) in group { out[id] = r }
            return out
        }
    }

    // MARK: Offsets

    /// Offsets for many partitions at once: one ListOffsets request per partition leader.
    public func listOffsets(_ specs: [TopicPartition: OffsetSpec], isolation: IsolationLevel = .readUncommitted)
        async throws -> [TopicPartition: Result<ListedOffset, KafkaClientError>] {
        guard !specs.isEmpty else { return [:] }
        let snapshot = try await cluster.metadata(for: Array(Set(specs.keys.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        var result: [TopicPartition: Result<ListedOffset, KafkaClientError>] = [:]
        for tp in specs.keys {
            if let leader = snapshot.leader(for: tp) {
                byLeader[leader, default: []].append(tp)
            } else if snapshot.topics[tp.topic]?.errorCode ?? 3 != 0 || snapshot.partitionCount(tp.topic).map({ tp.partition >= $0 }) ?? true {
                result[tp] = .failure(.unknownPartition(topic: tp.topic, partition: tp.partition))
            } else {
                result[tp] = .failure(.broker(ErrorCode.leaderNotAvailable.rawValue, "list offsets for \(tp)"))
            }
        }
        let needsMaxTimestamp = specs.values.contains(.maxTimestamp)
        let timeoutMs = self.timeoutMs
        let batches = try await withThrowingTaskGroup(of: [TopicPartition: Result<ListedOffset, KafkaClientError>].self) { group in
            for (leader, partitions) in byLeader {
                group.addTask {
                    var out: [TopicPartition: Result<ListedOffset, KafkaClientError>] = [:]
                    do {
                        let connection = try await self.cluster.connection(to: leader)
                        let (response, _) = try await connection.send(supported: (needsMaxTimestamp ? 7 : 1)...10) { version in
                            var request = ListOffsetsRequest()
                            request.replicaId = -1
                            if version >= 2 { request.isolationLevel = isolation.rawValue }
                            if version >= 10 { request.timeoutMs = timeoutMs }
                            request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
                                ListOffsetsRequest.ListOffsetsTopic(name: topic, partitions: tps.map {
                                    ListOffsetsRequest.ListOffsetsPartition(partitionIndex: $0.partition, timestamp: specs[$0]!.wireValue)
                                })
                            }
                            return request
                        }
                        for t in response.topics {
                            for p in t.partitions {
                                let tp = TopicPartition(t.name, p.partitionIndex)
                                out[tp] = p.errorCode == 0
                                    ? .success(ListedOffset(offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch))
                                    : .failure(.broker(p.errorCode, "list offsets for \(tp)"))
                            }
                        }
                        if out.values.contains(where: { if case .failure(let e) = $0 { return e.isRetriable } else { return false } }) {
                            self.cluster.markMetadataStale()
                        }
                    } catch let error as KafkaClientError {
                        for tp in partitions { out[tp] = .failure(error) }
                    }
                    return out
                }
            }
            var all: [TopicPartition: Result<ListedOffset, KafkaClientError>] = [:]
            for try await part in group { all.merge(part, uniquingKeysWith: { a, _ in a }) }
            return all
        }
        result.merge(batches, uniquingKeysWith: { a, _ in a })
        return result
    }

    /// Deletes records before the given offsets (moves the log start offset): one DeleteRecords
    /// per leader. Returns the new low watermark of each partition.
    public func deleteRecords(before offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Result<Int64, KafkaClientError>] {
        guard !offsets.isEmpty else { return [:] }
        let snapshot = try await cluster.metadata(for: Array(Set(offsets.keys.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        var result: [TopicPartition: Result<Int64, KafkaClientError>] = [:]
        for tp in offsets.keys {
            if let leader = snapshot.leader(for: tp) { byLeader[leader, default: []].append(tp) } else {
                result[tp] = .failure(.unknownPartition(topic: tp.topic, partition: tp.partition))
            }
        }
        let timeoutMs = self.timeoutMs
        for (leader, partitions) in byLeader {
            do {
                let connection = try await cluster.connection(to: leader)
                let (response, _) = try await connection.send(supported: 0...2) { _ in
                    DeleteRecordsRequest(topics: Dictionary(grouping: partitions, by: \.topic).map { topic, tps in
                        DeleteRecordsRequest.DeleteRecordsTopic(name: topic, partitions: tps.map {
                            DeleteRecordsRequest.DeleteRecordsPartition(partitionIndex: $0.partition, offset: offsets[$0]!)
                        })
                    }, timeoutMs: timeoutMs)
                }
                for t in response.topics {
                    for p in t.partitions {
                        let tp = TopicPartition(t.name, p.partitionIndex)
                        result[tp] = p.errorCode == 0 ? .success(p.lowWatermark) : .failure(.broker(p.errorCode, "delete records of \(tp)"))
                    }
                }
            } catch let error as KafkaClientError {
                for tp in partitions { result[tp] = .failure(error) }
            }
        }
        return result
    }
}
