import DequeModule
import Logging
import NIOCore

/// The classic consumer group coordinator of this broker: it owns every group, answers the
/// group APIs, parks JoinGroup/SyncGroup requests until their rebalance phase completes,
/// runs session and rebalance timers, and keeps group metadata and offsets in
/// `__consumer_offsets` through a `GroupLogStore`.
///
/// Concurrency: an actor. The group rules live in the `Group` value type
/// (`Group+StateMachine.swift`); this actor only performs the actions those events return.
/// Writes to one `__consumer_offsets` partition go through a FIFO queue, so the log holds
/// records in the order the in-memory state applied them, and a reload rebuilds exactly
/// that state. Time comes from the injected `GroupScheduler`, member-id randomness from
/// `makeUUID`.
public actor GroupCoordinator {
    /// Whether the coordinator serves requests: groups are reloaded from the log first.
    enum Phase { case loading, active, stopped }

    public let config: GroupCoordinatorConfig
    let store: any GroupLogStore
    let scheduler: any GroupScheduler
    let logger: Logger
    /// This broker as coordinator, for the listener a request came in on.
    let localNode: @Sendable (_ listenerName: String) -> CoordinatorNode?
    /// Where a group's coordinator is on a multi-node cluster (the leader of its offsets
    /// partition); nil: this broker coordinates every group (the single node).
    let coordinatorFor: (@Sendable (_ offsetsPartition: Int32, _ listenerName: String) -> CoordinatorLookup)?
    /// Whether a topic partition exists, for OffsetCommit's UNKNOWN_TOPIC_OR_PARTITION.
    let partitionExists: @Sendable (_ topic: String, _ partition: Int32) async -> Bool
    /// Random part of new member ids (Kafka uses a random UUID).
    let makeUUID: @Sendable () -> String

    var phase: Phase = .loading
    var groups: [String: Group] = [:]

    /// An offsets partition this broker coordinates: its groups are loading (the id tells a
    /// load from a later one) or loaded. A partition absent here belongs to another broker:
    /// its groups get NOT_COORDINATOR (Kafka's `ownedPartitions` / `loadingPartitions`).
    enum Ownership: Equatable { case loading(UInt64), active }
    var owned: [Int32: Ownership] = [:]
    /// The newest leader epoch seen per offsets partition: an older event changes nothing.
    private var leaderEpochs: [Int32: Int32] = [:]
    private var nextLoadId: UInt64 = 0
    /// The group of each parked JoinGroup/SyncGroup, so unloading a partition answers them.
    var waiterGroups: [RequestToken: String] = [:]
    private let leadershipEvents = AsyncStream<[OffsetsPartitionLeadership]>.makeStream()
    private var leadershipTask: Task<Void, Never>?
    var joinWaiters: [RequestToken: CheckedContinuation<JoinGroupOutcome, Never>] = [:]
    var syncWaiters: [RequestToken: CheckedContinuation<SyncGroupOutcome, Never>] = [:]
    private var nextTokenValue: UInt64 = 0

    private struct TimerKey: Hashable {
        var groupId: String
        var timer: GroupTimer
    }
    private var timers: [TimerKey: (id: UInt64, handle: any GroupTimerHandle)] = [:]
    private var nextTimerId: UInt64 = 0
    private var retentionTimer: (any GroupTimerHandle)?

    /// A write to one partition; `records` is evaluated when the write reaches the head of
    /// its queue, so it sees every earlier write to that partition already applied.
    struct PendingWrite {
        var records: () throws -> [(key: ByteBuffer, value: ByteBuffer?)]
        var completion: (GroupErrorCode) -> Void
    }
    private var writeQueues: [Int32: Deque<PendingWrite>] = [:]
    private var activeWriters: Set<Int32> = []
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - localNode: this broker's endpoint for a listener name (FindCoordinator).
    ///   - partitionExists: nil accepts commits for any partition.
    ///   - makeUUID: the random part of new member ids; tests inject a counter.
    public init(config: GroupCoordinatorConfig = GroupCoordinatorConfig(),
                store: any GroupLogStore,
                scheduler: any GroupScheduler = SystemGroupScheduler(),
                logger: Logger = Logger(label: "samsa.groups"),
                localNode: @escaping @Sendable (_ listenerName: String) -> CoordinatorNode?,
                partitionExists: (@Sendable (_ topic: String, _ partition: Int32) async -> Bool)? = nil,
                makeUUID: @escaping @Sendable () -> String = { GroupCoordinator.randomUUIDString() },
                coordinatorFor: (@Sendable (_ offsetsPartition: Int32, _ listenerName: String) -> CoordinatorLookup)? = nil) {
        self.coordinatorFor = coordinatorFor
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.logger = logger
        self.localNode = localNode
        self.partitionExists = partitionExists ?? { _, _ in true }
        self.makeUUID = makeUUID
    }

    // MARK: Life cycle

    /// Reloads every group from `__consumer_offsets` and starts serving. Until it returns,
    /// group requests get COORDINATOR_LOAD_IN_PROGRESS, which clients retry.
    public func start() async throws {
        let now = scheduler.nowMs()
        var loaded = GroupLoader()
        for partition in 0..<store.partitionCount {
            let records: [(key: ByteBuffer, value: ByteBuffer?)]
            do {
                records = try await store.readAll(partition: partition)
            } catch GroupErrorCode.notCoordinator {
                // Not hosted or not led here (a node of a multi-node cluster): its groups are
                // another broker's to load. Any other failure (an offsets partition the single
                // node cannot read) still stops start-up: skipping it would lose committed offsets.
                continue
            }
            loaded.replay(records, partition: partition, logger: logger)
            owned[partition] = .active
        }
        groups = loaded.groups(now: now)
        phase = .active
        // Leadership changes are applied one at a time, in the order the metadata committed them.
        let events = leadershipEvents.stream
        leadershipTask = Task { [weak self] in
            for await batch in events {
                for change in batch { await self?.apply(change) }
            }
        }
        for group in groups.values {
            for member in group.members.values {
                schedule(.heartbeat(memberId: member.memberId), groupId: group.groupId,
                         deadlineMs: now + Int64(member.sessionTimeoutMs))
            }
        }
        logger.info("group coordinator loaded", metadata: [
            "groups": "\(groups.count)",
            "offsets": "\(groups.values.reduce(0) { $0 + $1.offsets.count })",
        ])
        scheduleRetentionCheck()
    }

    /// Stops timers and answers every parked request with NOT_COORDINATOR (clients look
    /// the coordinator up again), after the queued writes finish.
    public func shutdown() async {
        phase = .stopped
        leadershipEvents.continuation.finish()
        leadershipTask?.cancel()
        waiterGroups.removeAll()
        retentionTimer?.cancel()
        retentionTimer = nil
        for (_, entry) in timers { entry.handle.cancel() }
        timers.removeAll()
        for (_, waiter) in joinWaiters { waiter.resume(returning: .failure(.notCoordinator)) }
        joinWaiters.removeAll()
        for (_, waiter) in syncWaiters { waiter.resume(returning: .failure(.notCoordinator)) }
        syncWaiters.removeAll()
        await waitForWrites()
    }

    /// Returns once no write is queued or in flight.
    public func waitForWrites() async {
        guard !activeWriters.isEmpty else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// The error every group request gets while the coordinator does not serve, else nil.
    var unavailableError: GroupErrorCode? {
        switch phase {
        case .loading: .coordinatorLoadInProgress
        case .active: nil
        case .stopped: .notCoordinator
        }
    }

    /// Why this broker cannot serve `groupId` now, else nil: not started or stopped (as
    /// ``unavailableError``), its offsets partition led elsewhere (NOT_COORDINATOR) or still
    /// loading here (COORDINATOR_LOAD_IN_PROGRESS).
    func unavailableError(for groupId: String) -> GroupErrorCode? {
        if let error = unavailableError { return error }
        switch owned[partition(for: groupId)] {
        case nil: return .notCoordinator
        case .loading?: return .coordinatorLoadInProgress
        case .active?: return nil
        }
    }

    func makeToken() -> RequestToken {
        nextTokenValue += 1
        return RequestToken(nextTokenValue)
    }

    func partition(for groupId: String) -> Int32 {
        consumerOffsetsPartition(for: groupId, partitionCount: store.partitionCount)
    }

    /// A read-only copy of a group, for tests and diagnostics.
    public func group(_ groupId: String) -> Group? { groups[groupId] }

    // MARK: Performing state machine actions

    /// Runs one event on a group, performs the actions it returned, and logs a change of
    /// state, generation or membership (the lines an operator follows a rebalance by).
    func update(_ groupId: String, cause: @autoclosure () -> String, _ event: (inout Group) -> [GroupAction]) {
        // Only a summary is kept: holding a copy of the group would make the event's mutation
        // copy its member and offset tables (copy-on-write) on every heartbeat.
        guard let before = groups[groupId].map({ ($0.state, $0.generationId, $0.members.count) }) else { return }
        let actions = event(&groups[groupId]!)
        perform(actions, groupId: groupId)
        guard let new = groups[groupId] else { return }
        if before != (new.state, new.generationId, new.members.count) {
            logger.info("group \(before.0.kafkaName) -> \(new.state.kafkaName)", metadata: [
                "group": "\(groupId)", "generation": "\(new.generationId)", "members": "\(new.members.count)",
                "cause": "\(cause())",
            ])
        }
    }

    /// Performs what a group event asked for, in order.
    func perform(_ actions: [GroupAction], groupId: String) {
        for action in actions {
            switch action {
            case .completeJoin(let token, let outcome):
                waiterGroups.removeValue(forKey: token)
                joinWaiters.removeValue(forKey: token)?.resume(returning: outcome)
            case .completeSync(let token, let outcome):
                waiterGroups.removeValue(forKey: token)
                syncWaiters.removeValue(forKey: token)?.resume(returning: outcome)
            case .schedule(let timer, let deadline):
                schedule(timer, groupId: groupId, deadlineMs: deadline)
            case .cancel(let timer):
                timers.removeValue(forKey: TimerKey(groupId: groupId, timer: timer))?.handle.cancel()
            case .persistGroup(let value, let purpose):
                persistGroup(groupId: groupId, value: value, purpose: purpose)
            }
        }
    }

    private func persistGroup(groupId: String, value: GroupMetadataValue, purpose: GroupPersistPurpose) {
        enqueueWrite(partition: partition(for: groupId), PendingWrite(
            records: { [(try GroupRecordKey.groupMetadata(group: groupId).encode(), try value.encode())] },
            completion: { error in
                if error != .none {
                    self.logger.warning("could not write group metadata", metadata: [
                        "group": "\(groupId)", "error": "\(error.name)"])
                }
                self.update(groupId, cause: "group record written") {
                    $0.groupPersisted(purpose, error: error, now: self.scheduler.nowMs(), config: self.config)
                }
            }))
    }

    private func schedule(_ timer: GroupTimer, groupId: String, deadlineMs: Int64) {
        let key = TimerKey(groupId: groupId, timer: timer)
        timers.removeValue(forKey: key)?.handle.cancel()
        nextTimerId += 1
        let id = nextTimerId
        let delay = max(deadlineMs - scheduler.nowMs(), 0)
        let handle = scheduler.schedule(afterMs: delay) { [weak self] in
            await self?.timerFired(groupId: groupId, timer: timer, id: id)
        }
        timers[key] = (id, handle)
    }

    private func timerFired(groupId: String, timer: GroupTimer, id: UInt64) {
        let key = TimerKey(groupId: groupId, timer: timer)
        // A timer that was re-armed or cancelled since is stale.
        guard let entry = timers[key], entry.id == id else { return }
        timers.removeValue(forKey: key)
        guard phase == .active else { return }
        let now = scheduler.nowMs()
        update(groupId, cause: "\(timer) expired") { $0.timerFired(timer, now: now, config: config) }
    }

    /// Cancels every timer of a group that is being forgotten.
    func cancelTimers(groupId: String) {
        for key in timers.keys where key.groupId == groupId {
            timers.removeValue(forKey: key)?.handle.cancel()
        }
    }

    // MARK: Following __consumer_offsets leadership

    /// The metadata changed who leads some offsets partitions (broker-core calls this from its
    /// metadata listener, in commit order). Applied in order after ``start()``: becoming
    /// leader loads the partition's groups (Kafka's `onElection`), losing it unloads them
    /// (`onResignation`).
    public nonisolated func offsetsLeadershipChanged(_ changes: [OffsetsPartitionLeadership]) {
        guard !changes.isEmpty else { return }
        leadershipEvents.continuation.yield(changes)
    }

    /// One leadership change of an offsets partition. Events older than the newest epoch seen
    /// are ignored; a leader that is re-elected keeps its loaded groups.
    func apply(_ change: OffsetsPartitionLeadership) async {
        let p = change.partition
        guard phase == .active, p >= 0, p < store.partitionCount else { return }
        if let seen = leaderEpochs[p], change.leaderEpoch < seen { return }
        leaderEpochs[p] = change.leaderEpoch
        if change.isLeader {
            if owned[p] == nil { await load(p, epoch: change.leaderEpoch) }
        } else if owned[p] != nil {
            unload(p, epoch: change.leaderEpoch)
        }
    }

    /// Loads the groups of offsets partition `p` (Kafka's `GroupMetadataManager.loadGroupsAndOffsets`):
    /// its groups answer COORDINATOR_LOAD_IN_PROGRESS until the whole partition is replayed.
    private func load(_ p: Int32, epoch: Int32) async {
        nextLoadId += 1
        let id = nextLoadId
        owned[p] = .loading(id)
        let started = scheduler.nowMs()
        let records: [(key: ByteBuffer, value: ByteBuffer?)]
        do {
            records = try await store.readAll(partition: p)
        } catch {
            guard owned[p] == .loading(id) else { return }
            owned[p] = nil
            logger.warning("could not load groups", metadata: [
                "partition": "\(p)", "epoch": "\(epoch)", "error": "\(error)"])
            // Not hosted or not led here yet (the replica manager lags the event): try again
            // unless a newer leadership event came meanwhile.
            _ = scheduler.schedule(afterMs: 1000) { [weak self] in
                await self?.retryLoad(p, epoch: epoch)
            }
            return
        }
        // Unloaded (or stopped) while reading: the newer event wins.
        guard owned[p] == .loading(id), phase == .active else { return }
        var loader = GroupLoader()
        loader.replay(records, partition: p, logger: logger)
        let now = scheduler.nowMs()
        var loadedOffsets = 0
        for (groupId, group) in loader.groups(now: now) where partition(for: groupId) == p {
            groups[groupId] = group
            loadedOffsets += group.offsets.count
            for member in group.members.values {
                schedule(.heartbeat(memberId: member.memberId), groupId: groupId,
                         deadlineMs: now + Int64(member.sessionTimeoutMs))
            }
        }
        owned[p] = .active
        logger.info("loaded the groups of an offsets partition", metadata: [
            "partition": "\(p)", "epoch": "\(epoch)", "offsets": "\(loadedOffsets)",
            "ms": "\(scheduler.nowMs() - started)"])
    }

    private func retryLoad(_ p: Int32, epoch: Int32) async {
        guard phase == .active, owned[p] == nil, leaderEpochs[p] == epoch else { return }
        await load(p, epoch: epoch)
    }

    /// Forgets the groups of offsets partition `p` (Kafka's `removeGroupsForPartition`): their
    /// timers stop and their parked JoinGroup/SyncGroup get NOT_COORDINATOR, so the members
    /// find the new coordinator, which loads the same state from the replicated log.
    private func unload(_ p: Int32, epoch: Int32) {
        owned[p] = nil
        var removed = 0
        for groupId in groups.keys where partition(for: groupId) == p {
            cancelTimers(groupId: groupId)
            groups.removeValue(forKey: groupId)
            removed += 1
        }
        for (token, groupId) in waiterGroups where partition(for: groupId) == p {
            waiterGroups.removeValue(forKey: token)
            joinWaiters.removeValue(forKey: token)?.resume(returning: .failure(.notCoordinator))
            syncWaiters.removeValue(forKey: token)?.resume(returning: .failure(.notCoordinator))
        }
        logger.info("unloaded the groups of an offsets partition", metadata: [
            "partition": "\(p)", "epoch": "\(epoch)", "groups": "\(removed)"])
    }

    /// Whether this broker coordinates the groups of offsets partition `p` now (tests).
    public func coordinates(offsetsPartition p: Int32) -> Bool { owned[p] == .active }

    // MARK: Offset retention

    private func scheduleRetentionCheck() {
        let interval = max(config.offsetsRetentionCheckIntervalMs, 1)
        retentionTimer = scheduler.schedule(afterMs: interval) { [weak self] in
            await self?.retentionCheckFired()
        }
    }

    private func retentionCheckFired() {
        guard phase == .active else { return }
        removeExpiredOffsetsAndGroups()
        scheduleRetentionCheck()
    }

    // MARK: Writes

    /// Queues a write to one partition; writes to a partition run one at a time, in order.
    func enqueueWrite(partition: Int32, _ write: PendingWrite) {
        writeQueues[partition, default: []].append(write)
        guard !activeWriters.contains(partition) else { return }
        activeWriters.insert(partition)
        Task { await self.drainWrites(partition: partition) }
    }

    private func drainWrites(partition: Int32) async {
        while let write = writeQueues[partition]?.popFirst() {
            let result: GroupErrorCode
            do {
                let records = try write.records()
                if !records.isEmpty { try await store.append(partition: partition, records: records) }
                result = .none
            } catch let code as GroupErrorCode {
                result = code == .none ? .unknownServerError : code
            } catch let recordError as GroupRecordError {
                logger.error("could not encode a group record", metadata: ["error": "\(recordError)"])
                result = .unknownServerError
            } catch {
                logger.warning("could not append to __consumer_offsets", metadata: [
                    "partition": "\(partition)", "error": "\(error)"])
                // Clients retry COORDINATOR_NOT_AVAILABLE after looking the coordinator up.
                result = .coordinatorNotAvailable
            }
            write.completion(result)
        }
        writeQueues[partition] = nil
        activeWriters.remove(partition)
        if activeWriters.isEmpty {
            let waiters = idleWaiters
            idleWaiters.removeAll()
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Kafka's member id form: "<client id>-<random UUID>".
    func newMemberId(clientId: String) -> String {
        "\(clientId)-\(makeUUID())"
    }

    /// A version 4 UUID in Java's `UUID.toString()` form (lower-case, dashed).
    public nonisolated static func randomUUIDString() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]]
            .map { $0.joined() }.joined(separator: "-")
    }
}

/// A leadership fact of one `__consumer_offsets` partition from the metadata: whether this
/// broker leads it, in which leader epoch.
public struct OffsetsPartitionLeadership: Sendable, Equatable {
    public var partition: Int32
    public var isLeader: Bool
    public var leaderEpoch: Int32
    public init(partition: Int32, isLeader: Bool, leaderEpoch: Int32) {
        self.partition = partition; self.isLeader = isLeader; self.leaderEpoch = leaderEpoch
    }
}

/// Where FindCoordinator sends a group on a multi-node cluster.
public enum CoordinatorLookup: Sendable, Equatable {
    case node(CoordinatorNode)
    /// COORDINATOR_NOT_AVAILABLE with this message (no offsets topic yet, no leader, no endpoint).
    case unavailable(String)
}
