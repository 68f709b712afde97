import KafkaProtocol
import NIOCore
import NIOPosix

/// The shared core of every client role: connections to each broker, the metadata cache and
/// the group-coordinator cache. Producer, consumer and admin each own one (or share one).
///
/// * Metadata is fetched from any reachable broker (known brokers first, then the bootstrap
///   list) and refreshed when it is older than `metadata.max.age.ms` or when a caller reports
///   a stale-metadata error (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, ...).
/// * ``withRetries(_:_:)`` retries retriable errors with `retry.backoff.ms` until
///   `request.timeout.ms` has passed, refreshing metadata in between.
///
/// Concurrency: thread-safe; a final class whose mutable state is behind locks/actors.
public final class KafkaCluster: Sendable {
    public let config: ClientConfig
    let pool: ConnectionPool
    private let state = Locked(State())

    private struct State {
        var snapshot: ClusterSnapshot?
        var coordinators: [String: Int32] = [:]
    }

    /// Metadata versions the client implements: v1 (null = all topics) to v12.
    static let metadataVersions: ClosedRange<Int16> = 1...12

    public init(config: ClientConfig, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.pool = ConnectionPool(config: config, group: group)
    }

    public func close() async { await pool.closeAll() }

    /// The last metadata fetched, if any.
    public var currentSnapshot: ClusterSnapshot? { state.withLock { $0.snapshot } }

    // MARK: Connections

    /// A connection to any broker: known brokers in random order, then the bootstrap servers.
    public func anyConnection() async throws -> BrokerConnection {
        var candidates: [(BrokerAddress, Int32)] = (currentSnapshot?.brokers.values.map { ($0.address, $0.nodeId) } ?? []).shuffled()
        for address in config.bootstrapServers where !candidates.contains(where: { $0.0 == address }) {
            candidates.append((address, -1))
        }
        var lastError: Error = KafkaClientError.connectionFailed(broker: "bootstrap.servers", reason: "no brokers")
        // Prefer brokers that are not backing off; fall back to all of them.
        var ordered: [(BrokerAddress, Int32)] = []
        var backingOff: [(BrokerAddress, Int32)] = []
        for c in candidates {
            if await pool.isBackingOff(c.0) { backingOff.append(c) } else { ordered.append(c) }
        }
        for (address, nodeId) in ordered + backingOff {
            do {
                return try await pool.connection(to: address, nodeId: nodeId)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// A connection to broker `nodeId`, refreshing metadata if the broker is unknown.
    public func connection(to nodeId: Int32) async throws -> BrokerConnection {
        var broker = currentSnapshot?.brokers[nodeId]
        if broker == nil {
            broker = try await refreshMetadata(topics: []).brokers[nodeId]
        }
        guard let broker else {
            throw KafkaClientError.connectionFailed(broker: "node \(nodeId)", reason: "not in cluster metadata")
        }
        return try await pool.connection(to: broker.address, nodeId: nodeId)
    }

    /// Drops a broken connection so the next request reconnects.
    public func invalidate(_ connection: BrokerConnection) async {
        await pool.invalidate(connection)
    }

    // MARK: Metadata

    /// Fetches fresh metadata. `topics == nil` asks for every topic; `[]` for brokers only.
    @discardableResult
    public func refreshMetadata(topics: [String]?, allowAutoCreate: Bool = false) async throws -> ClusterSnapshot {
        let connection = try await anyConnection()
        let response: MetadataResponse
        do {
            (response, _) = try await connection.send(supported: Self.metadataVersions) { version in
                var request = MetadataRequest()
                request.topics = topics.map { $0.map { MetadataRequest.MetadataRequestTopic(name: $0) } }
                if version >= 4 { request.allowAutoTopicCreation = allowAutoCreate }
                return request
            }
        } catch let error as KafkaClientError where error.isRetriable {
            await invalidate(connection)
            throw error
        }
        let fresh = ClusterSnapshot(response, requestedAll: topics == nil)
        return state.withLock { s in
            let merged = s.snapshot.map { $0.merging(fresh) } ?? fresh
            s.snapshot = merged
            return merged
        }
    }

    /// Metadata that includes `topics`, from the cache when it is fresh enough.
    public func metadata(for topics: [String], allowAutoCreate: Bool = false) async throws -> ClusterSnapshot {
        if let cached = currentSnapshot,
           ContinuousClock.now - cached.fetchedAt < config.metadataMaxAge,
           topics.allSatisfy({ cached.topics[$0]?.errorCode == 0 }) {
            return cached
        }
        return try await refreshMetadata(topics: topics, allowAutoCreate: allowAutoCreate)
    }

    /// KIP-951: a NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH answer named the partition's
    /// current leader. The cached metadata takes it only when it advances the known leader epoch
    /// and the leader's endpoint is known (from `endpoints`, the response's NodeEndpoints, or the
    /// cache); then the caller may retry at once without a metadata round trip. Returns whether
    /// the hint was taken.
    @discardableResult
    public func applyLeaderHint(_ tp: TopicPartition, leaderId: Int32, leaderEpoch: Int32, endpoints: [BrokerInfo] = []) -> Bool {
        guard leaderId >= 0, leaderEpoch >= 0 else { return false }
        return state.withLock { s -> Bool in
            guard var snapshot = s.snapshot, var topic = snapshot.topics[tp.topic],
                  let i = topic.partitions.firstIndex(where: { $0.partition == tp.partition }),
                  topic.partitions[i].leaderEpoch < leaderEpoch else { return false }
            if snapshot.brokers[leaderId] == nil, let e = endpoints.first(where: { $0.nodeId == leaderId }) {
                snapshot.brokers[leaderId] = e
            }
            guard snapshot.brokers[leaderId] != nil else { return false }
            topic.partitions[i].leader = leaderId
            topic.partitions[i].leaderEpoch = leaderEpoch
            topic.partitions[i].errorCode = 0
            snapshot.topics[tp.topic] = topic
            s.snapshot = snapshot
            return true
        }
    }

    /// The leader epoch the cached metadata knows for `tp`, -1 when unknown (Fetch and
    /// ListOffsets send it as current_leader_epoch, KIP-320).
    public func knownLeaderEpoch(_ tp: TopicPartition) -> Int32 {
        currentSnapshot?.topics[tp.topic]?.partitions.first(where: { $0.partition == tp.partition })?.leaderEpoch ?? -1
    }

    /// Makes the next ``metadata(for:allowAutoCreate:)`` refetch (after NOT_LEADER and friends).
    public func markMetadataStale() {
        state.withLock { s in s.snapshot?.fetchedAt = ContinuousClock.now - .seconds(86400 * 365) }
    }

    /// The partition count of `topic`, refreshing metadata once if it is unknown.
    public func partitionCount(of topic: String, allowAutoCreate: Bool = false) async throws -> Int {
        let snapshot = try await metadata(for: [topic], allowAutoCreate: allowAutoCreate)
        if let count = snapshot.partitionCount(topic) { return count }
        if let code = snapshot.topics[topic]?.errorCode, code != 0, code != ErrorCode.unknownTopicOrPartition.rawValue {
            throw KafkaClientError.broker(code, "metadata for topic \(topic)")
        }
        throw KafkaClientError.unknownTopic(topic)
    }

    // MARK: Group coordinators

    /// The coordinator node of each group, batched in one FindCoordinator v4+ request per
    /// lookup when the broker supports it (one request per group otherwise).
    public func findCoordinators(groups: [String], keyType: Int8 = 0) async throws -> [String: Result<Int32, KafkaClientError>] {
        var result: [String: Result<Int32, KafkaClientError>] = [:]
        let unique = Array(Set(groups))
        guard !unique.isEmpty else { return result }
        let connection = try await anyConnection()
        if connection.version(for: ApiKey.findCoordinator.rawValue, supported: 4...4) != nil {
            let (response, _) = try await connection.send(supported: 4...5) { _ in
                FindCoordinatorRequest(keyType: keyType, coordinatorKeys: unique)
            }
            for c in response.coordinators {
                if c.errorCode == 0 {
                    result[c.key] = .success(c.nodeId)
                    absorbBroker(BrokerInfo(nodeId: c.nodeId, host: c.host, port: c.port))
                } else {
                    result[c.key] = .failure(.broker(c.errorCode, "find coordinator for \(c.key)", message: c.errorMessage))
                }
            }
        } else {
            for group in unique {
                let (response, _) = try await connection.send(supported: 0...3) { version in
                    var r = FindCoordinatorRequest()
                    r.key = group
                    if version >= 1 { r.keyType = keyType }
                    return r
                }
                if response.errorCode == 0 {
                    result[group] = .success(response.nodeId)
                    absorbBroker(BrokerInfo(nodeId: response.nodeId, host: response.host, port: response.port))
                } else {
                    result[group] = .failure(.broker(response.errorCode, "find coordinator for \(group)", message: response.errorMessage))
                }
            }
        }
        state.withLock { s in
            for (group, r) in result { if case let .success(node) = r { s.coordinators[group] = node } }
        }
        return result
    }

    /// A connection to `group`'s coordinator (cached until ``invalidateCoordinator(group:)``).
    public func coordinatorConnection(group: String) async throws -> BrokerConnection {
        if let node = state.withLock({ $0.coordinators[group] }) {
            return try await connection(to: node)
        }
        switch try await findCoordinators(groups: [group])[group] {
        case .success(let node)?: return try await connection(to: node)
        case .failure(let error)?: throw error
        case nil: throw KafkaClientError.protocolViolation("FindCoordinator response lacks group \(group)")
        }
    }

    /// Forgets the coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
    public func invalidateCoordinator(group: String) {
        state.withLock { _ = $0.coordinators.removeValue(forKey: group) }
    }

    /// FindCoordinator returns a broker that may not be in our metadata yet.
    private func absorbBroker(_ broker: BrokerInfo) {
        state.withLock { s in
            if s.snapshot?.brokers[broker.nodeId] == nil { s.snapshot?.brokers[broker.nodeId] = broker }
        }
    }

    // MARK: Retries

    /// Runs `body`, retrying retriable failures every `retry.backoff.ms` until
    /// `request.timeout.ms` has passed; metadata is refreshed before each retry.
    public func withRetries<T: Sendable>(_ operation: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + config.requestTimeout
        while true {
            do {
                return try await body()
            } catch let error as KafkaClientError where error.isRetriable && ContinuousClock.now < deadline {
                try await Task.sleep(for: config.retryBackoff)
                markMetadataStale()
            }
        }
    }
}
