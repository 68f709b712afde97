import Foundation
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore

/// The console's data source and actions over the Swift client (`KafkaAdmin`,
/// `KafkaProducer`, and a direct Fetch for the Messages pane). Works against any
/// Kafka-compatible cluster. Every read is batched per broker by the admin facade.
///
/// Thread-safe: the admin and producer are Sendable; the producer is created on first use.
public final class KafkaClusterSource: ClusterDataSource, ClusterActions, Sendable {
    public let admin: KafkaAdmin
    public let displayName: String
    private let properties: ClientProperties
    private let producerBox = ProducerBox()
    let logger = Logger(label: "samsa.console.source")

    /// Config keys fetched for the Topics pane (retention) and the alter-config dialog.
    static let topicConfigKeys = ["retention.ms", "retention.bytes", "cleanup.policy", "min.insync.replicas", "segment.bytes"]

    /// - Parameter properties: client properties (`bootstrap.servers`, plus `--command-config`).
    ///   A console must stay responsive with a dead broker, so `request.timeout.ms` and the
    ///   connect timeout default to 5 s here unless set.
    public init(properties: ClientProperties) throws {
        var defaults: ClientProperties = ["request.timeout.ms": "5000", "socket.connection.setup.timeout.ms": "3000",
                                          "client.id": "samsa-console", "reconnect.backoff.max.ms": "2000"]
        defaults = defaults.merging(properties)
        self.properties = defaults
        admin = KafkaAdmin(config: try ClientConfig(properties: defaults))
        displayName = defaults["bootstrap.servers"] ?? "?"
    }

    public func close() async {
        await producerBox.close()
        await admin.close()
    }

    // MARK: ClusterDataSource

    public func fetchMetadata() async throws -> ClusterMetadata {
        let s = try await admin.cluster.refreshMetadata(topics: nil)
        return ClusterMetadata(
            clusterId: s.clusterId, controllerId: s.controllerId >= 0 ? s.controllerId : nil,
            brokers: s.brokers.values.sorted { $0.nodeId < $1.nodeId }.map { BrokerEndpoint(id: $0.nodeId, host: $0.host, port: $0.port, rack: $0.rack) },
            topics: s.topics.values.filter { $0.errorCode == 0 }.map { t in
                TopicMetadata(name: t.name, isInternal: t.isInternal, partitions: t.partitions.map {
                    PartitionMetadata(partition: $0.partition, leader: $0.leader, replicas: $0.replicas, isr: $0.isr,
                                      offlineReplicas: $0.offlineReplicas, errorCode: $0.errorCode, leaderEpoch: $0.leaderEpoch)
                })
            })
    }

    public func fetchQuorum() async throws -> QuorumInfo? {
        guard let q = try await admin.describeQuorum() else { return nil }
        return QuorumInfo(leaderId: q.leaderId, leaderEpoch: q.leaderEpoch, highWatermark: q.highWatermark, replicas: q.replicas.map {
            QuorumInfo.Replica(nodeId: $0.nodeId, isVoter: $0.isVoter, logEndOffset: $0.logEndOffset, lag: $0.lag,
                               lastFetchTimestampMs: $0.lastFetchTimestamp, lastCaughtUpTimestampMs: $0.lastCaughtUpTimestamp)
        })
    }

    /// One ListPartitionReassignments (api 46) through the admin connection: nil when no
    /// broker advertises it (Tansu, ZooKeeper-era Kafka before 2.4).
    public func fetchReassignments() async throws -> [OngoingReassignment]? {
        let connection = try await admin.cluster.anyConnection()
        guard connection.brokerVersions(for: ApiKey.listPartitionReassignments.rawValue) != nil else { return nil }
        return try await admin.listPartitionReassignments().map {
            OngoingReassignment(partition: $0.topicPartition, replicas: $0.replicas, adding: $0.addingReplicas, removing: $0.removingReplicas)
        }
    }

    public func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets] {
        guard !partitions.isEmpty else { return [:] }
        async let earliest = admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.earliest) }))
        async let latest = admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
        let (e, l) = try await (earliest, latest)
        var out: [TopicPartition: PartitionOffsets] = [:]
        var firstError: KafkaClientError?
        for tp in partitions {
            switch (e[tp], l[tp]) {
            case (.success(let a)?, .success(let b)?): out[tp] = PartitionOffsets(logStart: a.offset, end: b.offset)
            case (.failure(let err)?, _), (_, .failure(let err)?): firstError = firstError ?? err
            default: break
            }
        }
        // Partial answers are still useful (one leaderless partition must not blank the pane);
        // only a total failure is an error.
        if out.isEmpty, let firstError { throw firstError }
        return out
    }

    public func fetchLogDirs(brokers: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>] {
        let raw: [Int32: Result<[LogDirDescription], KafkaClientError>]
        do { raw = try await admin.describeLogDirs(brokers: brokers) } catch {
            return Dictionary(uniqueKeysWithValues: brokers.map { ($0, .failure(SourceError(error))) })
        }
        var out: [Int32: Result<BrokerLogDirs, SourceError>] = [:]
        for (id, r) in raw {
            switch r {
            case .failure(.unsupportedApi(let api, _)): out[id] = .failure(SourceError("\(api) not supported by broker \(id)", unsupported: true))
            case .failure(let e): out[id] = .failure(SourceError(e))
            case .success(let dirs):
                var bytes: [TopicPartition: Int64] = [:]
                var lag: [TopicPartition: ReplicaLag] = [:]
                for d in dirs where d.errorCode == 0 {
                    for r in d.replicas where !r.isFuture {
                        bytes[r.topicPartition, default: 0] += r.sizeBytes
                        if r.offsetLag > 0 { lag[r.topicPartition] = ReplicaLag(offsets: r.offsetLag) }
                    }
                }
                out[id] = .success(BrokerLogDirs(brokerId: id, totalBytes: bytes.values.reduce(0, +), partitionBytes: bytes, replicaLag: lag))
            }
        }
        return out
    }

    public func fetchGroups() async throws -> [GroupDescription] {
        let listings = try await admin.listGroups()
        guard !listings.isEmpty else { return [] }
        let described = try await admin.describeGroups(listings.map(\.groupId))
        return listings.map { l in
            guard case .success(let d)? = described[l.groupId] else {
                return GroupDescription(groupId: l.groupId, state: l.state.isEmpty ? "Unknown" : l.state, protocolType: l.protocolType, coordinator: l.coordinator)
            }
            return GroupDescription(groupId: d.groupId, state: d.state.isEmpty ? l.state : d.state, protocolType: d.protocolType,
                                    assignor: d.protocolName,
                                    members: d.members.map { GroupMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, clientId: $0.clientId,
                                                                         host: $0.clientHost, assignment: $0.assignment) },
                                    coordinator: d.coordinator >= 0 ? d.coordinator : l.coordinator)
        }
    }

    public func fetchCommittedOffsets(groups: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]] {
        guard !groups.isEmpty else { return [:] }
        let raw = try await admin.committedOffsets(groups: groups.map(\.groupId))
        var out: [String: [TopicPartition: Int64]] = [:]
        var firstError: KafkaClientError?
        for (g, r) in raw {
            switch r {
            case .success(let offsets): out[g] = offsets.mapValues(\.offset)
            case .failure(let e): firstError = firstError ?? e
            }
        }
        if out.isEmpty, let firstError { throw firstError }
        return out
    }

    public func fetchTopicConfigs(_ topics: [String]) async throws -> [String: [String: String]] {
        guard !topics.isEmpty else { return [:] }
        let raw = try await admin.describeConfigs(topics.map { ConfigResource.topic($0) }, keys: nil)
        var out: [String: [String: String]] = [:]
        for (res, r) in raw {
            guard case .success(let entries) = r else { continue }
            var m: [String: String] = [:]
            // Asked for all keys (Tansu 0.6 drops the connection when keys are listed), kept
            // only the few the console shows, so 10,000 topics stay small.
            for e in entries where Self.topicConfigKeys.contains(e.name) { if let v = e.value { m[e.name] = v } }
            out[res.name] = m
        }
        return out
    }

    // MARK: ClusterActions

    struct ActionError: Error, CustomStringConvertible {
        var description: String
        /// The broker's error code, when the broker answered one.
        var code: Int16? = nil
    }

    /// "INVALID_CONFIG (error 40): Unknown configuration x": the console already says which
    /// action on which topic failed, so the broker's answer is given without context.
    static func describe(_ r: AdminItemResult) -> String {
        "\(ErrorCode(rawValue: r.errorCode).name) (error \(r.errorCode))" + (r.errorMessage.map { ": \($0)" } ?? "")
    }

    public func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) async throws {
        let r = try await admin.createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs)])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e), code: e.errorCode) }
    }

    public func deleteTopic(name: String) async throws {
        let r = try await admin.deleteTopics([name])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e)) }
    }

    public func alterTopicConfig(topic: String, key: String, value: String) async throws {
        let r = try await admin.alterConfigs([.topic(topic): [.set(key, value)]])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e)) }
    }

    public func produce(topic: String, partition: Int32?, messages: [OutgoingMessage]) async throws -> Int {
        let producer = try await producerBox.get(properties)
        let counter = DeliveryCounter()
        for m in messages {
            let record = ProducerRecord(topic: topic, partition: partition, key: m.key.map { ByteBuffer(bytes: $0) }, value: ByteBuffer(bytes: m.value))
            try await producer.produce(record) { counter.record($0) }
        }
        await producer.flush()
        if counter.acked == 0, let e = counter.firstError { throw e }
        return counter.acked
    }

    public func addPartitions(topic: String, total: Int32) async throws {
        let r = try await admin.createPartitions([topic: total])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e)) }
    }

    public func electPreferredLeaders(_ partitions: [TopicPartition]?) async throws -> [ElectionOutcome] {
        let r = try await admin.electLeaders(.preferred, partitions: partitions)
        return r.sorted { $0.key < $1.key }.map { tp, result in
            switch result {
            case .success: return ElectionOutcome(partition: tp)
            case .failure(let e):
                let (code, text) = Self.verbatim(e)
                return ElectionOutcome(partition: tp, errorCode: code, error: text)
            }
        }
    }

    public func reassign(_ targets: [TopicPartition: [Int32]?]) async throws -> [ReassignmentOutcome] {
        let r = try await admin.alterPartitionReassignments(targets)
        return r.sorted { $0.key < $1.key }.map { tp, result in
            switch result {
            case .success: return ReassignmentOutcome(partition: tp)
            case .failure(let e):
                let (code, text) = Self.verbatim(e)
                return ReassignmentOutcome(partition: tp, errorCode: code, error: text)
            }
        }
    }

    /// A per-partition refusal as Kafka gave it: "NAME (error N): message", without the
    /// client's context ("elect leader of ..."); -1 and the description for a client error.
    static func verbatim(_ e: KafkaClientError) -> (code: Int16, text: String) {
        guard case .broker(let code, let name, _, let message) = e else { return (-1, "\(e)") }
        return (code, "\(name) (error \(code))" + (message.map { ": \($0)" } ?? ""))
    }

    // MARK: ACLs and SCRAM users (the ACL and Users panes)

    public func describeAcls() async throws -> [KafkaAcl.Binding] {
        try await admin.describeAcls(KafkaAcl.Filter())
    }

    public func createAcls(_ bindings: [KafkaAcl.Binding]) async throws {
        for case .failure(let e) in try await admin.createAcls(bindings) {
            let (code, text) = Self.verbatim(e)
            throw ActionError(description: text, code: code)
        }
    }

    public func deleteAcl(_ binding: KafkaAcl.Binding) async throws -> Int {
        var removed = 0
        for r in try await admin.deleteAcls([KafkaAcl.Filter(exactly: binding)]) {
            switch r {
            case .success(let acls): removed += acls.count
            case .failure(let e):
                let (code, text) = Self.verbatim(e)
                throw ActionError(description: text, code: code)
            }
        }
        return removed
    }

    public func describeScramUsers() async throws -> [ScramUserDescription] {
        try await admin.describeScramUsers(nil)
    }

    public func upsertScramUser(_ user: String, mechanism: ScramUserMechanism, password: String, iterations: Int) async throws {
        try await admin.upsertScramUser(user, mechanism: mechanism, password: password, iterations: iterations)
    }

    public func deleteScramUser(_ user: String, mechanism: ScramUserMechanism) async throws {
        try await admin.deleteScramUser(user, mechanism: mechanism)
    }

    public func deleteGroup(_ group: String) async throws {
        let r = try await admin.deleteGroups([group])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e)) }
    }

    public func produceMessage(_ m: SingleMessage) async throws -> (partition: Int32, offset: Int64) {
        let producer = try await producerBox.get(properties)
        let record = ProducerRecord(topic: m.topic, partition: m.partition, key: m.key.map { ByteBuffer(bytes: $0) },
                                    value: m.value.map { ByteBuffer(bytes: $0) },
                                    headers: m.headers.map { ($0.key, $0.value.map { ByteBuffer(bytes: $0) }) })
        let meta = try await producer.send(record)
        return (meta.topicPartition.partition, meta.offset)
    }

    static func resource(_ target: ConfigTarget) -> ConfigResource {
        switch target {
        case .topic(let t): .topic(t)
        case .broker(let id): .broker(id)
        }
    }

    public func describeConfigs(_ target: ConfigTarget) async throws -> [ConfigRow] {
        let resource = Self.resource(target)
        let raw = try await admin.describeConfigs([resource], keys: nil)
        guard let r = raw[resource] ?? raw.first?.value else { throw ActionError(description: "no answer for \(target)") }
        return try r.get().map { e in
            // DescribeConfigs v0 has no source, only isDefault.
            let source = e.source >= 0 ? ConfigSourceKind(kafkaCode: e.source) : (e.isDefault ? .defaultValue : .unknown)
            return ConfigRow(name: e.name, value: e.value, source: source, isSensitive: e.isSensitive, isReadOnly: e.isReadOnly)
        }.sorted { $0.name < $1.name }
    }

    public func alterConfigs(_ target: ConfigTarget, set: [String: String], delete: [String]) async throws {
        let changes = set.sorted { $0.key < $1.key }.map { ConfigChange.set($0.key, $0.value) } + delete.map { ConfigChange.delete($0) }
        let r = try await admin.alterConfigs([Self.resource(target): changes])
        if let e = r.first(where: { !$0.succeeded }) { throw ActionError(description: Self.describe(e)) }
    }

    public func offsetsForTime(_ partitions: [TopicPartition], timestampMs: Int64) async throws -> [TopicPartition: Int64] {
        let r = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.timestamp(timestampMs)) }))
        var out: [TopicPartition: Int64] = [:]
        for (tp, v) in r { out[tp] = try v.get().offset }
        return out
    }

    public func commitOffsets(group: String, offsets: [TopicPartition: Int64]) async throws {
        let r = try await admin.commitOffsets(group: group, offsets: offsets)
        var failed: [TopicPartition: KafkaClientError] = [:]
        for (tp, v) in r { if case .failure(let e) = v { failed[tp] = e } }
        if let text = Self.describeCommitFailures(failed, group: group, partitions: offsets.count) { throw ActionError(description: text) }
    }

    /// One line for failed offset commits: the error once (not once per partition) and,
    /// for the errors Kafka gives a commit from outside a live group, what to do about it.
    static func describeCommitFailures(_ failed: [TopicPartition: KafkaClientError], group: String, partitions: Int) -> String? {
        guard let first = failed.sorted(by: { $0.key < $1.key }).first else { return nil }
        var codes: Set<Int16> = []
        for e in failed.values { if case .broker(let code, _, _, _) = e { codes.insert(code) } else { codes.insert(-1) } }
        var text: String
        if case .broker(let code, let name, _, let message) = first.value, codes.count == 1 {
            text = "\(failed.count) of \(partitions) partition(s): \(name) (error \(code))" + (message.map { ": \($0)" } ?? "")
        } else {
            text = "\(failed.count) of \(partitions) partition(s) failed, e.g. \(first.key): \(first.value)"
        }
        // UNKNOWN_MEMBER_ID (25), ILLEGAL_GENERATION (22), REBALANCE_IN_PROGRESS (27):
        // Kafka only takes offsets from outside the group while it has no members.
        if !codes.isDisjoint(with: [22, 25, 27]) {
            text += "; group \(group) has active members: stop its consumers, then reset"
        }
        return text
    }

    /// Reads records with a direct Fetch to the partition leader (v4-12: topic names, not ids).
    public func fetchMessages(_ tp: TopicPartition, fromOffset offset: Int64, maxCount: Int) async throws -> [ConsoleMessage] {
        let snap = try await admin.cluster.metadata(for: [tp.topic])
        guard let leader = snap.leader(for: tp) else { throw KafkaClientError.unknownPartition(topic: tp.topic, partition: tp.partition) }
        let connection = try await admin.cluster.connection(to: leader)
        let (response, _) = try await connection.send(supported: 4...12) { _ in
            var req = FetchRequest()
            req.replicaId = -1
            // A short wait: Tansu 0.6 answers an empty record set to maxWaitMs = 0 even when data exists.
            req.maxWaitMs = 100
            req.minBytes = 1
            req.maxBytes = 1 << 20
            req.isolationLevel = 0
            var p = FetchRequest.FetchPartition()
            p.partition = tp.partition
            p.fetchOffset = offset
            p.partitionMaxBytes = 1 << 20
            var t = FetchRequest.FetchTopic()
            t.topic = tp.topic
            t.partitions = [p]
            req.topics = [t]
            return req
        }
        if response.errorCode != 0 { throw KafkaClientError.broker(code: response.errorCode, name: ErrorCode(rawValue: response.errorCode).name, context: "fetch \(tp)", message: nil) }
        var out: [ConsoleMessage] = []
        for t in response.responses {
            for p in t.partitions where p.partitionIndex == tp.partition {
                if p.errorCode != 0 { throw KafkaClientError.broker(code: p.errorCode, name: ErrorCode(rawValue: p.errorCode).name, context: "fetch \(tp)", message: nil) }
                guard let records = p.records else { continue }
                var reader = RecordBatchReader(records)
                while out.count < maxCount, let batch = try reader.next() {
                    if batch.isControl { continue }
                    for r in batch.records {
                        let off = batch.offset(of: r)
                        guard off >= offset, out.count < maxCount else { continue }
                        out.append(ConsoleMessage(partition: tp.partition, offset: off,
                                                  timestamp: Date(timeIntervalSince1970: Double(batch.timestamp(of: r)) / 1000),
                                                  key: r.key.map { Array($0.readableBytesView) }, value: r.value.map { Array($0.readableBytesView) },
                                                  headers: r.headers.map { MessageHeader(key: $0.key, value: $0.value.map { Array($0.readableBytesView) }) }))
                    }
                }
            }
        }
        return out
    }
}

/// Creates the producer on first use (the console may never produce).
private actor ProducerBox {
    private var producer: KafkaProducer?
    func get(_ properties: ClientProperties) throws -> KafkaProducer {
        if let producer { return producer }
        // Test messages need no idempotence, and some compatible brokers lack InitProducerId.
        let p = KafkaProducer(config: try ProducerConfig(properties: properties.merging(["enable.idempotence": "false", "acks": "all", "linger.ms": "5"])))
        producer = p
        return p
    }
    func close() async { await producer?.close() }
}

/// Counts delivery results from the producer's callbacks (called on its task).
private final class DeliveryCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var ok = 0
    private var error: KafkaClientError?
    func record(_ r: Result<RecordMetadata, KafkaClientError>) {
        lock.withLock {
            switch r {
            case .success: ok += 1
            case .failure(let e): if error == nil { error = e }
            }
        }
    }
    var acked: Int { lock.withLock { ok } }
    var firstError: KafkaClientError? { lock.withLock { error } }
}
