import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix

/// A Kafka consumer: manual assignment or group subscription, pipelined fetches, seeks by
/// offset or timestamp, pause/resume, and sync/async/auto commits.
///
/// * Fetching: one Fetch request in flight per partition leader, issued again as soon as its
///   response is buffered (prefetch), so the next ``poll(timeout:)`` usually finds records
///   ready. Records are decoded (and CRC-checked) per batch with the shared record codec.
/// * Groups: ``subscribe(_:listener:)`` joins `group.id` with the classic protocol
///   (JoinGroup with the MEMBER_ID_REQUIRED round trip, SyncGroup, Heartbeat, LeaveGroup),
///   offering `partition.assignment.strategy` (range, roundrobin, cooperative-sticky); when
///   elected leader it runs the assignor. Rebalances are carried out inside `poll`, where the
///   listener's callbacks run, as in Java's consumer. Cooperative rebalancing revokes only the
///   partitions that move and then rejoins.
/// * Positions: the consumed position (next offset ``poll`` returns) is what commits store.
///   A partition without a position starts from the group's committed offset, else from
///   `auto.offset.reset`.
///
/// Concurrency: an actor. Use one consumer from one task at a time for `poll` (as with any
/// Kafka consumer); other methods may be called from anywhere.
public actor KafkaConsumer {
    public nonisolated let config: ConsumerConfig
    public nonisolated let cluster: KafkaCluster
    private let admin: KafkaAdmin

    private enum Mode: Equatable { case none, assigned, subscribed([String]) }

    private var mode: Mode = .none
    private var assignment: [TopicPartition] = []
    private var positions: [TopicPartition: Int64] = [:]
    private var fetchPositions: [TopicPartition: Int64] = [:]
    private var leaderEpochs: [TopicPartition: Int32] = [:]
    private var seekGeneration: [TopicPartition: Int] = [:]
    /// Fetched, not yet returned records per partition; `head` avoids shifting arrays on drain.
    private struct Buffered {
        var records: [ConsumerRecord] = []
        var head = 0
        var count: Int { records.count - head }
    }
    private var buffered: [TopicPartition: Buffered] = [:]
    private var bufferedCount = 0
    private var paused: Set<TopicPartition> = []
    private var fetchesInFlight: Set<Int32> = []
    private var dataWaiter: CheckedContinuation<Void, Never>?
    private var fetchError: KafkaClientError?
    private var closed = false
    private var drainCursor = 0

    // Group membership.
    private var memberId = ""
    private var generationId: Int32 = -1
    private var protocolName: String?
    private var needsRejoin = false
    private var partitionsLost = false
    private var joining = false
    private var listener = RebalanceListener()
    private var heartbeatTask: Task<Void, Never>?
    private var lastAutoCommit = ContinuousClock.now
    private var lastMetadataCheck = ContinuousClock.now
    private var joinedPartitionCounts: [String: Int] = [:]

    private func partitionCounts(_ snapshot: ClusterSnapshot, _ topics: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for t in topics { if let n = snapshot.partitionCount(t) { counts[t] = n } }
        return counts
    }

    public init(config: ConsumerConfig, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.cluster = KafkaCluster(config: config.client, group: group)
        self.admin = KafkaAdmin(cluster: cluster)
    }

    public init(properties: ClientProperties) throws {
        self.init(config: try ConsumerConfig(properties: properties))
    }

    // MARK: Assignment and subscription

    /// Consumes exactly these partitions, without a group (commits still work when `group.id` is set).
    public func assign(_ partitions: [TopicPartition]) throws {
        if case .subscribed = mode { throw KafkaClientError.invalidArgument("cannot assign partitions while subscribed") }
        mode = partitions.isEmpty ? .none : .assigned
        setAssignment(partitions)
    }

    /// Joins `group.id` and consumes the partitions the group assigns for `topics`.
    public func subscribe(_ topics: [String], listener: RebalanceListener = RebalanceListener()) throws {
        guard config.groupId != nil else {
            throw KafkaClientError.invalidConfiguration(key: "group.id", value: "", reason: "subscribe requires a group id")
        }
        if mode == .assigned { throw KafkaClientError.invalidArgument("cannot subscribe while partitions are assigned manually") }
        mode = .subscribed(topics)
        self.listener = listener
        needsRejoin = true
    }

    /// The partitions currently assigned.
    public var currentAssignment: [TopicPartition] { assignment }

    /// The group generation and member id (nil when not in a group).
    public var groupMembership: (generationId: Int32, memberId: String)? {
        memberId.isEmpty || generationId < 0 ? nil : (generationId, memberId)
    }

    private func setAssignment(_ partitions: [TopicPartition]) {
        let keep = Set(partitions)
        for tp in assignment where !keep.contains(tp) { dropPartitionState(tp) }
        assignment = partitions.sorted()
        paused = paused.intersection(keep)
    }

    private func dropPartitionState(_ tp: TopicPartition) {
        positions[tp] = nil
        fetchPositions[tp] = nil
        seekGeneration[tp, default: 0] += 1
        if let dropped = buffered.removeValue(forKey: tp) { bufferedCount -= dropped.count }
    }

    // MARK: Positions

    /// Next poll returns `tp` from `offset`.
    public func seek(_ tp: TopicPartition, to offset: Int64) throws {
        guard assignment.contains(tp) else { throw KafkaClientError.invalidArgument("\(tp) is not assigned") }
        dropPartitionState(tp)
        positions[tp] = offset
        fetchPositions[tp] = offset
    }

    public func seekToBeginning(_ partitions: [TopicPartition]) async throws {
        try await seek(partitions, spec: .earliest)
    }

    public func seekToEnd(_ partitions: [TopicPartition]) async throws {
        try await seek(partitions, spec: .latest)
    }

    /// Seeks each partition to the first offset whose timestamp is >= `timestampMs`, or to the
    /// end when there is none.
    public func seek(_ partitions: [TopicPartition], toTimestamp timestampMs: Int64) async throws {
        try await seek(partitions, spec: .timestamp(timestampMs))
    }

    /// Retries what a cluster answers while its metadata settles (a topic created a moment ago
    /// that this client's metadata or the partition's new leader does not know yet, a leader
    /// that just moved) until `request.timeout.ms`, as Kafka's consumer waits for metadata:
    /// `--from-beginning` right after a CreateTopics on a cluster failed with
    /// UNKNOWN_TOPIC_OR_PARTITION when the leader had not applied the topic yet.
    private func seek(_ partitions: [TopicPartition], spec: OffsetSpec) async throws {
        let isolation = config.isolationLevel
        let offsets: [TopicPartition: Int64] = try await cluster.withRetries("list offsets") { [admin] in
            let found = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }), isolation: isolation)
            var latest: [TopicPartition: Result<ListedOffset, KafkaClientError>] = [:]
            if case .timestamp = spec {
                let missing = partitions.filter { (try? found[$0]?.get().offset) ?? -1 < 0 }
                if !missing.isEmpty {
                    latest = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: missing.map { ($0, .latest) }), isolation: isolation)
                }
            }
            var offsets: [TopicPartition: Int64] = [:]
            for tp in partitions {
                var offset = try Self.settled(found[tp])
                if offset < 0, let end = latest[tp] { offset = try Self.settled(end) }
                offsets[tp] = offset
            }
            return offsets
        }
        for tp in partitions { try seek(tp, to: offsets[tp]!) }
    }

    /// A listed offset, or its error with "not in this client's metadata yet" made retriable
    /// (UNKNOWN_TOPIC_OR_PARTITION, as the broker would have said it).
    private static func settled(_ result: Result<ListedOffset, KafkaClientError>?) throws -> Int64 {
        switch result {
        case .success(let o)?: return o.offset
        case .failure(.unknownPartition(let topic, let partition))?:
            throw KafkaClientError.broker(ErrorCode.unknownTopicOrPartition.rawValue, "list offsets for \(TopicPartition(topic, partition))")
        case .failure(let e)?: throw e
        case nil: throw KafkaClientError.broker(ErrorCode.leaderNotAvailable.rawValue, "list offsets")
        }
    }

    /// The offset the next record returned for `tp` will have.
    public func position(_ tp: TopicPartition) async throws -> Int64 {
        try await ensurePositions()
        guard let p = positions[tp] else { throw KafkaClientError.invalidArgument("\(tp) is not assigned") }
        return p
    }

    /// Stops returning records for these partitions (fetching stops too) until ``resume(_:)``.
    /// Group membership continues.
    public func pause(_ partitions: [TopicPartition]) {
        for tp in partitions where assignment.contains(tp) {
            paused.insert(tp)
            // Buffered records would be returned late and out of step with the pause: refetch them.
            if let dropped = buffered.removeValue(forKey: tp) {
                bufferedCount -= dropped.count
                fetchPositions[tp] = positions[tp]
                seekGeneration[tp, default: 0] += 1
            }
        }
    }

    public func resume(_ partitions: [TopicPartition]) {
        for tp in partitions { paused.remove(tp) }
    }

    public var pausedPartitions: [TopicPartition] { paused.sorted() }

    /// Positions for partitions that have none: the group's committed offset, else `auto.offset.reset`.
    private func ensurePositions() async throws {
        let missing = assignment.filter { positions[$0] == nil }
        guard !missing.isEmpty else { return }
        var committed: [TopicPartition: CommittedOffset] = [:]
        if let group = config.groupId {
            committed = try await cluster.withRetries("fetch committed offsets") { [admin] in
                try await admin.committedOffsets(group: group, partitions: missing)
            }
        }
        var reset: [TopicPartition] = []
        for tp in missing {
            if let c = committed[tp], c.offset >= 0 {
                positions[tp] = c.offset
                fetchPositions[tp] = c.offset
            } else {
                reset.append(tp)
            }
        }
        try await resetPositions(reset)
    }

    private func resetPositions(_ partitions: [TopicPartition]) async throws {
        guard !partitions.isEmpty else { return }
        let spec: OffsetSpec
        switch config.autoOffsetReset {
        case .earliest: spec = .earliest
        case .latest: spec = .latest
        case .none:
            throw KafkaClientError.invalidArgument("no committed offset for \(partitions.map(\.description).joined(separator: ", ")) and auto.offset.reset=none")
        }
        let found = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }), isolation: config.isolationLevel)
        for tp in partitions {
            switch found[tp] {
            case .success(let o)?:
                if assignment.contains(tp) {
                    positions[tp] = o.offset
                    fetchPositions[tp] = o.offset
                    seekGeneration[tp, default: 0] += 1
                }
            case .failure(.unknownPartition)?:
                // This client's metadata has not caught up with the assignment (a topic created a
                // moment ago): the position is resolved again on the next poll, after a refresh.
                cluster.markMetadataStale()
            case .failure(let e)?:
                if !e.isRetriable { throw e }
            case nil:
                break
            }
        }
    }

    // MARK: Poll

    /// Returns up to `max.poll.records` records, waiting up to `timeout` for some. Carries out
    /// group rebalances (running the listener) and auto-commits.
    public func poll(timeout: Duration) async throws -> [ConsumerRecord] {
        if closed { throw KafkaClientError.closed }
        let deadline = ContinuousClock.now + timeout
        if case .subscribed = mode { try await ensureGroupActive() }
        try await maybeAutoCommit()
        try await ensurePositions()
        if let error = fetchError {
            fetchError = nil
            throw error
        }
        startFetches()
        if bufferedCount == 0 {
            await waitForData(until: deadline)
            if case .subscribed = mode, needsRejoin { return [] }
        }
        let records = drain(max: config.maxPollRecords)
        startFetches()
        return records
    }

    private func waitForData(until deadline: ContinuousClock.Instant) async {
        guard ContinuousClock.now < deadline else { return }
        // A cancelled timer must not wake anyone: the waiter it would resume is the next
        // poll's, which would then return at once and cancel its own timer, and so on.
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
            await self?.wakeWaiter()
        }
        await withCheckedContinuation { dataWaiter = $0 }
        timer.cancel()
    }

    private func wakeWaiter() {
        dataWaiter?.resume()
        dataWaiter = nil
    }

    private func drain(max: Int) -> [ConsumerRecord] {
        guard bufferedCount > 0 else { return [] }
        var out: [ConsumerRecord] = []
        out.reserveCapacity(min(max, bufferedCount))
        let keys = buffered.keys.sorted()
        guard !keys.isEmpty else { return [] }
        // Round-robin over partitions so one busy partition cannot starve the others.
        var index = drainCursor % keys.count
        var visited = 0
        while out.count < max && visited < keys.count {
            let tp = keys[index]
            if !paused.contains(tp), let queue = buffered[tp], queue.count > 0 {
                let take = min(max - out.count, queue.count)
                out.append(contentsOf: queue.records[queue.head..<(queue.head + take)])
                bufferedCount -= take
                positions[tp] = out.last!.offset + 1
                if take == queue.count {
                    buffered[tp] = nil
                } else {
                    buffered[tp]!.head += take
                }
            }
            index = (index + 1) % keys.count
            visited += 1
        }
        drainCursor = index
        return out
    }

    // MARK: Fetching

    private func startFetches() {
        guard !closed, let snapshot = cluster.currentSnapshot else {
            if !closed && !assignment.isEmpty { Task { await self.refreshMetadataThenFetch() } }
            return
        }
        var byLeader: [Int32: [(TopicPartition, Int64)]] = [:]
        var leaderless = false
        let perPartitionBuffer = Swift.max(config.maxPollRecords, 1000)
        for tp in assignment where !paused.contains(tp) {
            guard let offset = fetchPositions[tp] else { continue }
            if (buffered[tp]?.count ?? 0) >= perPartitionBuffer { continue }
            guard let leader = snapshot.leader(for: tp) else { leaderless = true; continue }
            byLeader[leader, default: []].append((tp, offset))
        }
        for (leader, partitions) in byLeader where !fetchesInFlight.contains(leader) {
            fetchesInFlight.insert(leader)
            let generations = partitions.map { seekGeneration[$0.0, default: 0] }
            Task { await self.fetch(from: leader, partitions: partitions, generations: generations) }
        }
        if leaderless { Task { await self.refreshMetadataThenFetch() } }
    }

    private var refreshingMetadata = false

    private func refreshMetadataThenFetch() async {
        guard !refreshingMetadata else { return }
        refreshingMetadata = true
        defer { refreshingMetadata = false }
        let topics = Array(Set(assignment.map(\.topic)))
        do {
            try await Task.sleep(for: config.client.retryBackoff)
            _ = try await cluster.refreshMetadata(topics: topics)
        } catch {
            return
        }
        startFetches()
    }

    private func fetch(from leader: Int32, partitions: [(TopicPartition, Int64)], generations: [Int]) async {
        // Every exit path clears `fetchesInFlight` for this leader (before any new fetch starts).
        defer { wakeWaiter() }
        let config = self.config
        // While records are buffered the application has work: a long poll here would hold
        // back partitions that drain meanwhile (one fetch per leader), so wait only briefly.
        let maxWait = bufferedCount > 0 ? min(config.fetchMaxWait, .milliseconds(10)) : config.fetchMaxWait
        let response: FetchResponse
        let version: Int16
        // KIP-320: the leader epoch this client knows, so a broker that is no longer (or not yet)
        // leader in that epoch answers FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH.
        let cluster = self.cluster
        let epochs = Dictionary(uniqueKeysWithValues: partitions.map { ($0.0, cluster.knownLeaderEpoch($0.0)) })
        do {
            let connection = try await cluster.connection(to: leader)
            let fetchTimeout = config.client.requestTimeout + config.fetchMaxWait
            (response, version) = try await connection.send(supported: 4...12, timeout: fetchTimeout) { version in
                var request = FetchRequest()
                request.maxWaitMs = Int32(clamping: maxWait.milliseconds)
                request.minBytes = Int32(clamping: config.fetchMinBytes)
                request.maxBytes = Int32(clamping: config.fetchMaxBytes)
                request.isolationLevel = config.isolationLevel.rawValue
                if version >= 7 { request.sessionEpoch = -1 }
                request.topics = Dictionary(grouping: partitions, by: { $0.0.topic }).sorted { $0.key < $1.key }.map { topic, list in
                    FetchRequest.FetchTopic(topic: topic, partitions: list.map { tp, offset in
                        var p = FetchRequest.FetchPartition()
                        p.partition = tp.partition
                        p.fetchOffset = offset
                        p.partitionMaxBytes = Int32(clamping: config.maxPartitionFetchBytes)
                        if version >= 9 { p.currentLeaderEpoch = epochs[tp] ?? -1 }
                        return p
                    })
                }
                return request
            }
        } catch {
            fetchesInFlight.remove(leader)
            if let e = error as? KafkaClientError, !e.isRetriable { fetchError = e }
            cluster.markMetadataStale()
            try? await Task.sleep(for: config.client.retryBackoff)
            Task { await self.refreshMetadataThenFetch() }
            return
        }
        let requested = Dictionary(uniqueKeysWithValues: zip(partitions.map(\.0), zip(partitions.map(\.1), generations)))
        var reset: [TopicPartition] = []
        var stale = false
        for topic in response.responses {
            for p in topic.partitions {
                let tp = TopicPartition(topic.topic, p.partitionIndex)
                guard let (offset, generation) = requested[tp], seekGeneration[tp, default: 0] == generation,
                      fetchPositions[tp] == offset, assignment.contains(tp) else { continue }
                switch p.errorCode {
                case 0:
                    if let records = p.records {
                        do {
                            try append(records, for: tp, from: offset, aborted: p.abortedTransactions ?? [])
                        } catch {
                            fetchError = error as? KafkaClientError ?? .protocolViolation("\(error)")
                        }
                    }
                case ErrorCode.offsetOutOfRange.rawValue:
                    reset.append(tp)
                default:
                    let error = KafkaClientError.broker(p.errorCode, "fetch \(tp)")
                    // KIP-951 (Fetch v12+): the new leader is named; no metadata round trip.
                    let hinted = version >= 12
                        && (p.errorCode == ErrorCode.notLeaderOrFollower.rawValue || p.errorCode == ErrorCode.fencedLeaderEpoch.rawValue)
                        && cluster.applyLeaderHint(tp, leaderId: p.currentLeader.leaderId, leaderEpoch: p.currentLeader.leaderEpoch)
                    if hinted { continue }
                    if error.isRetriable { stale = true } else { fetchError = error }
                }
            }
        }
        if stale { cluster.markMetadataStale(); Task { await self.refreshMetadataThenFetch() } }
        if !reset.isEmpty {
            for tp in reset { positions[tp] = nil; fetchPositions[tp] = nil }
            do { try await resetPositions(reset) } catch let e as KafkaClientError { fetchError = e } catch {}
        }
        // Pipelining: fetch the next chunk while the application works through this one
        // (bounded by the per-partition buffer check in startFetches).
        fetchesInFlight.remove(leader)
        if fetchError == nil { startFetches() }
    }

    private func append(_ bytes: ByteBuffer, for tp: TopicPartition, from offset: Int64,
                        aborted: [FetchResponse.AbortedTransaction]) throws {
        var reader = RecordBatchReader(bytes)
        var records: [ConsumerRecord] = []
        var next = offset
        let abortedProducers = Dictionary(aborted.map { ($0.producerId, $0.firstOffset) }, uniquingKeysWith: min)
        do {
            while let batch = try reader.next() {
                defer { next = Swift.max(next, batch.nextOffset) }
                if batch.isControl { continue }
                if config.isolationLevel == .readCommitted, batch.isTransactional,
                   let first = abortedProducers[batch.producerId], batch.baseOffset >= first { continue }
                for record in batch.records {
                    let recordOffset = batch.offset(of: record)
                    guard recordOffset >= offset else { continue }
                    records.append(ConsumerRecord(
                        topic: tp.topic, partition: tp.partition, offset: recordOffset, timestamp: batch.timestamp(of: record),
                        isLogAppendTime: batch.timestampType == .logAppendTime, key: record.key, value: record.value,
                        headers: record.headers.map { ($0.key, $0.value) }, leaderEpoch: batch.partitionLeaderEpoch))
                }
            }
        } catch {
            throw KafkaClientError.protocolViolation("corrupt record batch in \(tp) at offset \(next): \(error)")
        }
        fetchPositions[tp] = next
        if !records.isEmpty {
            if buffered[tp] == nil {
                buffered[tp] = Buffered(records: records)
            } else {
                buffered[tp]!.records.append(contentsOf: records)
            }
            bufferedCount += records.count
        }
    }

    // MARK: Commits

    /// Commits `offsets` (default: the consumed position of every assigned partition) and waits.
    public func commitSync(_ offsets: [TopicPartition: Int64]? = nil) async throws {
        guard let group = config.groupId else {
            throw KafkaClientError.invalidConfiguration(key: "group.id", value: "", reason: "commits require a group id")
        }
        let toCommit = offsets ?? positions.filter { assignment.contains($0.key) }
        guard !toCommit.isEmpty else { return }
        let generation = generationId, member = memberId, instance = config.groupInstanceId
        let inGroup: Bool
        if case .subscribed = mode { inGroup = true } else { inGroup = false }
        let response: OffsetCommitResponse = try await cluster.withRetries("commit offsets") { [cluster] in
            let connection = try await cluster.coordinatorConnection(group: group)
            let (response, _) = try await connection.send(supported: 2...8) { version in
                var request = OffsetCommitRequest()
                request.groupId = group
                request.generationIdOrMemberEpoch = inGroup ? generation : -1
                request.memberId = inGroup ? member : ""
                if version >= 7 { request.groupInstanceId = inGroup ? instance : nil }
                request.topics = Dictionary(grouping: toCommit.keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
                    OffsetCommitRequest.OffsetCommitRequestTopic(name: topic, partitions: tps.sorted().map {
                        OffsetCommitRequest.OffsetCommitRequestPartition(partitionIndex: $0.partition, committedOffset: toCommit[$0]!)
                    })
                }
                return request
            }
            for t in response.topics {
                for p in t.partitions where [ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue].contains(p.errorCode) {
                    cluster.invalidateCoordinator(group: group)
                    throw KafkaClientError.broker(p.errorCode, "commit offsets for \(group)")
                }
            }
            return response
        }
        for t in response.topics {
            for p in t.partitions where p.errorCode != 0 {
                if [ErrorCode.rebalanceInProgress.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.unknownMemberId.rawValue].contains(p.errorCode) {
                    needsRejoin = true
                }
                throw KafkaClientError.broker(p.errorCode, "commit offset of \(TopicPartition(t.name, p.partitionIndex))")
            }
        }
        lastAutoCommit = ContinuousClock.now
    }

    /// Commits in the background; `completion` gets the outcome.
    public func commitAsync(_ offsets: [TopicPartition: Int64]? = nil,
                            completion: (@Sendable (KafkaClientError?) -> Void)? = nil) {
        let snapshot = offsets ?? positions.filter { assignment.contains($0.key) }
        Task {
            do {
                try await self.commitSync(snapshot)
                completion?(nil)
            } catch {
                completion?(error as? KafkaClientError ?? .protocolViolation("\(error)"))
            }
        }
    }

    /// The group's committed offsets for `partitions`.
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: CommittedOffset] {
        guard let group = config.groupId else { return [:] }
        return try await admin.committedOffsets(group: group, partitions: partitions)
    }

    private func maybeAutoCommit() async throws {
        guard config.enableAutoCommit, config.groupId != nil, !assignment.isEmpty,
              ContinuousClock.now - lastAutoCommit >= config.autoCommitInterval else { return }
        lastAutoCommit = ContinuousClock.now
        commitAsync()
    }

    // MARK: Group membership

    private var isCooperative: Bool { protocolName.flatMap(AssignorName.init(rawValue:))?.isCooperative ?? false }

    private func ensureGroupActive() async throws {
        if partitionsLost {
            partitionsLost = false
            let lost = assignment
            setAssignment([])
            if !lost.isEmpty { await listener.lost(lost) }
        }
        guard case let .subscribed(topics) = mode, let group = config.groupId else { return }
        // Every `metadata.max.age.ms`, check the subscribed topics' partition counts: a change
        // (partitions added, a topic created) needs a rebalance, as in Java's consumer.
        if generationId >= 0, !needsRejoin, ContinuousClock.now - lastMetadataCheck >= config.client.metadataMaxAge {
            lastMetadataCheck = ContinuousClock.now
            if let fresh = try? await cluster.refreshMetadata(topics: topics), partitionCounts(fresh, topics) != joinedPartitionCounts {
                needsRejoin = true
            }
        }
        guard needsRejoin || generationId < 0 else { return }
        joining = true
        defer { joining = false }
        // Eager protocols give everything up before joining; cooperative ones keep it.
        if !isCooperative && !assignment.isEmpty {
            if config.enableAutoCommit { try? await commitSync() }
            let revoked = assignment
            setAssignment([])
            await listener.revoked(revoked)
        }
        // Retriable failures on the way to the coordinator (COORDINATOR_NOT_AVAILABLE while a
        // cluster creates __consumer_offsets, the coordinator's broker restarting) are retried
        // for up to request.timeout.ms, as Java's ensureCoordinatorReady does; `samsa consume
        // --group` on a fresh 3-node cluster exited on the first COORDINATOR_NOT_AVAILABLE.
        var troubleSince: ContinuousClock.Instant?
        while true {
            needsRejoin = false
            let joined: JoinResult?
            do {
                joined = try await joinGroup(group: group, topics: topics)
            } catch let error as KafkaClientError where error.isRetriable {
                try await backOffFromCoordinator(group: group, after: error, since: &troubleSince)
                continue
            }
            guard let joined else { continue }
            let newAssignment: [TopicPartition]
            do {
                guard let synced = try await syncGroup(group: group, join: joined, topics: topics) else { continue }
                newAssignment = synced
            } catch let error as KafkaClientError where error.isRetriable {
                try await backOffFromCoordinator(group: group, after: error, since: &troubleSince)
                continue
            }
            troubleSince = nil
            let old = Set(assignment)
            let new = Set(newAssignment)
            let revoked = old.subtracting(new).sorted()
            let added = new.subtracting(old).sorted()
            if !revoked.isEmpty {
                if config.enableAutoCommit { try? await commitSync(positions.filter { revoked.contains($0.key) }) }
                await listener.revoked(revoked)
            }
            setAssignment(newAssignment)
            if let snapshot = try? await cluster.refreshMetadata(topics: topics) { joinedPartitionCounts = partitionCounts(snapshot, topics) }
            lastMetadataCheck = ContinuousClock.now
            if !added.isEmpty || old.isEmpty { await listener.assigned(added) }
            startHeartbeats()
            // Cooperative: partitions we gave up may now go to others in a follow-up rebalance.
            if isCooperative && !revoked.isEmpty { needsRejoin = true }
            if !needsRejoin { return }
        }
    }

    /// Forgets the coordinator and sleeps retry.backoff.ms, or rethrows `error` once retriable
    /// failures have lasted request.timeout.ms (`since` is when they began).
    private func backOffFromCoordinator(group: String, after error: KafkaClientError,
                                        since: inout ContinuousClock.Instant?) async throws {
        let start = since ?? .now
        since = start
        guard ContinuousClock.now - start < config.client.requestTimeout else { throw error }
        cluster.invalidateCoordinator(group: group)
        try await Task.sleep(for: config.client.retryBackoff)
    }

    private struct JoinResult {
        var generation: Int32
        var leader: String
        var members: [JoinGroupResponse.JoinGroupResponseMember]
        var protocolName: String
        var skipAssignment: Bool
    }

    /// One JoinGroup round trip. Returns nil when the join must simply be retried
    /// (MEMBER_ID_REQUIRED, coordinator moved, rebalance in progress).
    private func joinGroup(group: String, topics: [String]) async throws -> JoinResult? {
        let connection = try await cluster.coordinatorConnection(group: group)
        let owned = assignment
        let protocols = try config.assignmentStrategies.map { name in
            JoinGroupRequest.JoinGroupRequestProtocol(
                name: name.rawValue,
                metadata: try ConsumerProtocol.encodeSubscription(GroupMemberSubscription(
                    memberId: memberId, topics: topics.sorted(), ownedPartitions: name.isCooperative ? owned : [],
                    generationId: name.isCooperative ? generationId : -1)))
        }
        let config = self.config
        let member = memberId
        let timeout = config.maxPollInterval + .seconds(5)
        let (response, _) = try await connection.send(supported: 0...9, timeout: timeout) { version in
            var request = JoinGroupRequest()
            request.groupId = group
            request.sessionTimeoutMs = Int32(clamping: config.sessionTimeout.milliseconds)
            if version >= 1 { request.rebalanceTimeoutMs = Int32(clamping: config.maxPollInterval.milliseconds) }
            request.memberId = member
            if version >= 5 { request.groupInstanceId = config.groupInstanceId }
            request.protocolType = "consumer"
            request.protocols = protocols
            return request
        }
        switch response.errorCode {
        case 0:
            memberId = response.memberId
            generationId = response.generationId
            let chosen = response.protocolName ?? config.assignmentStrategies.first!.rawValue
            protocolName = chosen
            return JoinResult(generation: response.generationId, leader: response.leader, members: response.members,
                              protocolName: chosen, skipAssignment: response.skipAssignment)
        case ErrorCode.memberIdRequired.rawValue:
            // KIP-394: the broker hands out our member id and expects an immediate rejoin with it.
            memberId = response.memberId
            return nil
        case ErrorCode.unknownMemberId.rawValue:
            memberId = ""
            return nil
        case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue, ErrorCode.coordinatorLoadInProgress.rawValue:
            cluster.invalidateCoordinator(group: group)
            try await Task.sleep(for: config.client.retryBackoff)
            return nil
        case ErrorCode.rebalanceInProgress.rawValue:
            try await Task.sleep(for: config.client.retryBackoff)
            return nil
        default:
            throw KafkaClientError.broker(response.errorCode, "join group \(group)")
        }
    }

    /// SyncGroup; the leader computes and sends everyone's assignment. nil = rejoin.
    private func syncGroup(group: String, join: JoinResult, topics: [String]) async throws -> [TopicPartition]? {
        var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
        if join.leader == memberId && !join.skipAssignment {
            let subscriptions = try join.members.map {
                try ConsumerProtocol.decodeSubscription($0.metadata, memberId: $0.memberId, groupInstanceId: $0.groupInstanceId)
            }
            guard let assignor = AssignorName(rawValue: join.protocolName)?.assignor else {
                throw KafkaClientError.protocolViolation("group chose unknown assignor \(join.protocolName)")
            }
            let allTopics = Array(Set(subscriptions.flatMap(\.topics))).sorted()
            let snapshot = try await cluster.refreshMetadata(topics: allTopics)
            var counts: [String: Int32] = [:]
            for t in allTopics { if let n = snapshot.partitionCount(t) { counts[t] = Int32(n) } }
            let result = assignor.assign(members: subscriptions, partitionCounts: counts)
            assignments = try result.sorted { $0.key < $1.key }.map {
                SyncGroupRequest.SyncGroupRequestAssignment(memberId: $0.key, assignment: try ConsumerProtocol.encodeAssignment($0.value))
            }
        }
        let connection = try await cluster.coordinatorConnection(group: group)
        let member = memberId, instance = config.groupInstanceId, name = join.protocolName
        let (response, _) = try await connection.send(supported: 0...5) { version in
            var request = SyncGroupRequest()
            request.groupId = group
            request.generationId = join.generation
            request.memberId = member
            if version >= 3 { request.groupInstanceId = instance }
            if version >= 5 {
                request.protocolType = "consumer"
                request.protocolName = name
            }
            request.assignments = assignments
            return request
        }
        switch response.errorCode {
        case 0:
            return try ConsumerProtocol.decodeAssignment(response.assignment)
        case ErrorCode.rebalanceInProgress.rawValue:
            return nil
        case ErrorCode.unknownMemberId.rawValue, ErrorCode.illegalGeneration.rawValue:
            if response.errorCode == ErrorCode.unknownMemberId.rawValue { memberId = "" }
            generationId = -1
            return nil
        case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue:
            cluster.invalidateCoordinator(group: group)
            return nil
        default:
            throw KafkaClientError.broker(response.errorCode, "sync group \(group)")
        }
    }

    private func startHeartbeats() {
        guard heartbeatTask == nil else { return }
        let interval = config.heartbeatInterval
        heartbeatTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.heartbeatOnce()
            }
        }
    }

    private func heartbeatOnce() async {
        guard !joining, !closed, generationId >= 0, !memberId.isEmpty, let group = config.groupId else { return }
        let generation = generationId, member = memberId, instance = config.groupInstanceId
        do {
            let connection = try await cluster.coordinatorConnection(group: group)
            let (response, _) = try await connection.send(supported: 0...4) { version in
                var request = HeartbeatRequest()
                request.groupId = group
                request.generationId = generation
                request.memberId = member
                if version >= 3 { request.groupInstanceId = instance }
                return request
            }
            guard generation == generationId else { return }
            switch response.errorCode {
            case 0: break
            case ErrorCode.rebalanceInProgress.rawValue:
                needsRejoin = true
                wakeWaiter()
            case ErrorCode.unknownMemberId.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.fencedInstanceId.rawValue:
                if response.errorCode == ErrorCode.unknownMemberId.rawValue { memberId = "" }
                generationId = -1
                needsRejoin = true
                partitionsLost = true
                wakeWaiter()
            case ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue:
                cluster.invalidateCoordinator(group: group)
            default:
                break
            }
        } catch {
            // Connection problems: the next heartbeat retries; the session timeout is the judge.
        }
    }

    // MARK: Close

    /// Commits (if auto-commit), leaves the group, and closes connections.
    public func close() async {
        guard !closed else { return }
        if case .subscribed = mode, let group = config.groupId, !memberId.isEmpty {
            if config.enableAutoCommit { try? await commitSync() }
            if !assignment.isEmpty { await listener.revoked(assignment) }
            // Static members keep their slot across restarts (KIP-345): they do not leave.
            if config.groupInstanceId == nil {
                let member = memberId
                if let connection = try? await cluster.coordinatorConnection(group: group) {
                    _ = try? await connection.send(supported: 0...5) { version in
                        var request = LeaveGroupRequest()
                        request.groupId = group
                        if version >= 3 {
                            request.members = [LeaveGroupRequest.MemberIdentity(memberId: member)]
                        } else {
                            request.memberId = member
                        }
                        return request
                    }
                }
            }
        } else if config.enableAutoCommit, config.groupId != nil, !assignment.isEmpty {
            try? await commitSync()
        }
        closed = true
        heartbeatTask?.cancel()
        heartbeatTask = nil
        wakeWaiter()
        await cluster.close()
    }
}
