import KafkaClient
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import Synchronization

/// Where a follower fetcher connects: a broker's endpoint on the inter-broker listener.
public struct FetcherEndpoint: Equatable, Sendable {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
}

/// One partition of a follower fetch as the fetcher asks for it.
public struct ReplicaFetchEntry: Equatable, Sendable {
    public var topicPartition: TopicPartition
    public var currentLeaderEpoch: Int32
    public var fetchOffset: Int64
    public var lastFetchedEpoch: Int32
    public var logStartOffset: Int64
    public init(topicPartition: TopicPartition, currentLeaderEpoch: Int32, fetchOffset: Int64, lastFetchedEpoch: Int32,
                logStartOffset: Int64) {
        self.topicPartition = topicPartition; self.currentLeaderEpoch = currentLeaderEpoch; self.fetchOffset = fetchOffset
        self.lastFetchedEpoch = lastFetchedEpoch; self.logStartOffset = logStartOffset
    }
}

/// Builds a follower's Fetch (Kafka's `ReplicaFetcherThread.buildFetch`; ``FollowerFetchSession``
/// turns it into a session's full or incremental fetch): replica
/// id = this broker, `replica.fetch.*` limits, isolation READ_UNCOMMITTED (ignored for
/// replicas), every followed partition of one leader in one request, grouped by topic in a
/// stable order. Fetch v12 (LastFetchedEpoch needs it; topic ids from v13 are not used).
public enum ReplicaFetchRequestBuilder {
    public static func build(replicaId: Int32, settings: ReplicaFetchSettings, entries: [ReplicaFetchEntry]) -> FetchRequest {
        var request = FetchRequest()
        request.replicaId = replicaId
        request.maxWaitMs = settings.waitMaxMs
        request.minBytes = settings.minBytes
        request.maxBytes = settings.responseMaxBytes
        request.isolationLevel = 0
        // Session id 0 with epoch -1: a full fetch that creates no session (KIP-227), unless
        // FollowerFetchSession sets the session fields.
        request.sessionId = 0
        request.sessionEpoch = -1
        let byTopic = Dictionary(grouping: entries, by: \.topicPartition.topic)
        for topic in byTopic.keys.sorted() {
            var t = FetchRequest.FetchTopic()
            t.topic = topic
            for e in byTopic[topic]!.sorted(by: { $0.topicPartition.partition < $1.topicPartition.partition }) {
                var p = FetchRequest.FetchPartition()
                p.partition = e.topicPartition.partition
                p.currentLeaderEpoch = e.currentLeaderEpoch
                p.fetchOffset = e.fetchOffset
                p.lastFetchedEpoch = e.lastFetchedEpoch
                p.logStartOffset = e.logStartOffset
                p.partitionMaxBytes = settings.maxBytes
                t.partitions.append(p)
            }
            request.topics.append(t)
        }
        return request
    }

    /// The Fetch versions a follower speaks: 12 (LastFetchedEpoch/DivergingEpoch, topic names).
    public static let versions: ClosedRange<Int16> = 12...12
}

/// One follower fetcher: replicates every partition this broker follows from one leader
/// (Kafka's `ReplicaFetcherThread`, one per source broker since `num.replica.fetchers` = 1).
///
/// Its loop: build one Fetch for the partitions not backing off (offset = own LEO,
/// LastFetchedEpoch = own latest epoch), send it (the leader long-polls up to
/// `replica.fetch.wait.max.ms`), then per partition: append with the leader's offsets and
/// epochs, truncate on DivergingEpoch, handle OFFSET_OUT_OF_RANGE by asking the leader's
/// LEO and log start (ListOffsets), back off `replica.fetch.backoff.ms` on NOT_LEADER /
/// FENCED / UNKNOWN epoch and the rest (the metadata will say who leads). A connection
/// failure backs every partition off.
///
/// Durability (DESIGN.md, "what survives a crash"): what a round trip appended is fsynced
/// before the next fetch reports the new LEO, so a record the leader counts into its HW (and
/// acknowledges to an acks=all producer) is on the disk of every ISR member.
///
/// Thread-safe; the manager changes its partitions while it runs.
public final class ReplicaFetcher: Sendable {
    struct FollowState: Equatable {
        var leaderEpoch: Int32
        var delayedUntilMs: Int64 = 0
    }

    struct State {
        var endpoint: FetcherEndpoint
        var partitions: [TopicPartition: FollowState] = [:]
        var connection: BrokerConnection?
        var stopped = false
        var wake: DataWaiter?
    }

    public let sourceBroker: Int32
    let nodeId: Int32
    private let replicas: ReplicaManager
    private let settings: ReplicaFetchSettings
    private let clientConfig: ClientConfig
    /// The inter-broker listener's reloadable client TLS: each new connection uses its current
    /// configuration (renewed certificates without a restart); nil: `clientConfig`'s own.
    private let tls: ClientTLSContext?
    private let clock: any BrokerClock
    private let logger: Logger
    private let state: Mutex<State>
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Round trips completed (tests, metrics).
    private let rounds = Atomic<Int>(0)

    init(sourceBroker: Int32, endpoint: FetcherEndpoint, nodeId: Int32, replicas: ReplicaManager, settings: ReplicaFetchSettings,
         tls: ClientTLSContext? = nil, clock: any BrokerClock, logger: Logger) throws {
        self.tls = tls
        self.sourceBroker = sourceBroker
        self.nodeId = nodeId
        self.replicas = replicas
        self.settings = settings
        self.clock = clock
        self.logger = logger
        // bootstrap.servers is unused: the fetcher connects to the leader's endpoint itself.
        // TLS / SASL as the inter-broker listener asks (settings.clientSecurity).
        clientConfig = try ClientConfig(properties: ClientProperties(settings.clientSecurity.merging([
            "bootstrap.servers": "127.0.0.1:1", "client.id": "broker-\(nodeId)-fetcher-0",
            "request.timeout.ms": String(settings.socketTimeoutMs + Int64(settings.waitMaxMs)),
        ]) { _, new in new }))
        state = Mutex(State(endpoint: endpoint))
    }

    var completedRounds: Int { rounds.load(ordering: .relaxed) }
    /// Partitions backing off now (after an error), for tests.
    var backingOff: Set<TopicPartition> {
        let now = clock.nowMs()
        return state.withLock { Set($0.partitions.filter { $0.value.delayedUntilMs > now }.keys) }
    }
    var followed: [TopicPartition: Int32] { state.withLock { $0.partitions.mapValues(\.leaderEpoch) } }

    func start() {
        task.withLock { t in
            guard t == nil else { return }
            t = Task { [self] in await run() }
        }
    }

    /// Replaces the followed partitions (tp -> leader epoch) and the leader's endpoint. A
    /// partition whose epoch changed starts fresh (no back-off); a changed endpoint reconnects.
    func update(endpoint: FetcherEndpoint, partitions: [TopicPartition: Int32]) {
        let (wake, dropped) = state.withLock { s -> (DataWaiter?, BrokerConnection?) in
            var dropped: BrokerConnection?
            if s.endpoint != endpoint {
                s.endpoint = endpoint
                dropped = s.connection
                s.connection = nil
            }
            var next: [TopicPartition: FollowState] = [:]
            for (tp, epoch) in partitions {
                if let old = s.partitions[tp], old.leaderEpoch == epoch { next[tp] = old } else { next[tp] = FollowState(leaderEpoch: epoch) }
            }
            let changed = next != s.partitions
            s.partitions = next
            return (changed ? s.wake : nil, dropped)
        }
        dropped?.close()
        wake?.fire()
    }

    /// Stops the loop and waits for it (a round in flight is abandoned: nothing half-applied,
    /// every append is whole and a stale one is refused by the partition's epoch check).
    func stop() async {
        let (wake, connection) = state.withLock { s -> (DataWaiter?, BrokerConnection?) in
            s.stopped = true
            defer { s.connection = nil }
            return (s.wake, s.connection)
        }
        wake?.fire()
        connection?.close()
        let t = task.withLock { $0 }
        t?.cancel()
        await t?.value
    }

    private var isStopped: Bool { state.withLock { $0.stopped } || Task.isCancelled }

    /// Waits up to `ms`, woken early by ``update(endpoint:partitions:)`` and ``stop()``.
    private func pause(ms: Int64) async {
        guard ms > 0 else { return }
        let waiter = replicas.makeWaiter()
        let stopped = state.withLock { s -> Bool in
            s.wake = waiter
            return s.stopped
        }
        if !stopped { await waiter.wait(timeoutMs: ms, clock: clock) }
        state.withLock { s in if s.wake === waiter { s.wake = nil } }
    }

    private func run() async {
        var lastConnectError: String?
        // KIP-227 with this leader: incremental fetches once the leader has given us a session.
        var session = FollowerFetchSession()
        while !isStopped {
            let now = clock.nowMs()
            let (endpoint, ready, nextReadyMs) = state.withLock { s -> (FetcherEndpoint, [TopicPartition: Int32], Int64?) in
                var ready: [TopicPartition: Int32] = [:]
                var next: Int64?
                for (tp, f) in s.partitions {
                    if f.delayedUntilMs <= now { ready[tp] = f.leaderEpoch } else { next = min(next ?? .max, f.delayedUntilMs) }
                }
                return (s.endpoint, ready, next)
            }
            var entries: [ReplicaFetchEntry] = []
            for (tp, epoch) in ready {
                guard let p = replicas.partition(tp), !p.isLeader else { continue }
                let log = p.log
                entries.append(ReplicaFetchEntry(topicPartition: tp, currentLeaderEpoch: epoch, fetchOffset: log.logEndOffset,
                                                 lastFetchedEpoch: log.latestEpoch ?? -1, logStartOffset: log.logStartOffset))
            }
            if entries.isEmpty {
                await pause(ms: nextReadyMs.map { max(1, $0 - now) } ?? 1000)
                continue
            }
            let connection: BrokerConnection
            do {
                connection = try await connect(endpoint)
                if lastConnectError != nil {
                    logger.info("Follower fetcher to broker \(sourceBroker) at \(endpoint.host):\(endpoint.port) connected")
                    lastConnectError = nil
                }
            } catch {
                let text = "\(error)"
                if lastConnectError != text {
                    logger.warning("Follower fetcher to broker \(sourceBroker) at \(endpoint.host):\(endpoint.port): \(text); retrying every \(settings.backoffMs) ms")
                    lastConnectError = text
                }
                await pause(ms: settings.backoffMs)
                continue
            }
            let request = session.build(replicaId: nodeId, settings: settings, entries: entries)
            let response: FetchResponse
            do {
                response = try await connection.send(supported: ReplicaFetchRequestBuilder.versions) { _ in request }.response
            } catch {
                session.handleError()
                if isStopped { break }
                logger.warning("Follower fetch from broker \(sourceBroker) failed: \(error); backing off \(settings.backoffMs) ms")
                drop(connection)
                await pause(ms: settings.backoffMs)
                continue
            }
            let fits = session.handle(response)
            if response.errorCode != 0 {
                let code = ErrorCode(rawValue: response.errorCode)
                if code == .fetchSessionIdNotFound || code == .invalidFetchSessionEpoch || code == .fetchSessionTopicIdError {
                    // The leader restarted or evicted our session: the next fetch is full and
                    // opens a new one, at once (nothing is wrong with the partitions).
                    logger.info("Follower fetch session with broker \(sourceBroker) ended (\(code.name)); fetching in full")
                    continue
                }
                logger.warning("Follower fetch from broker \(sourceBroker): error \(code.name); backing off \(settings.backoffMs) ms")
                delay(entries.map(\.topicPartition), ms: settings.backoffMs)
                continue
            }
            guard fits else {
                logger.warning("Follower fetch from broker \(sourceBroker): the answer does not match the fetch session; fetching in full")
                continue
            }
            await applyRound(response, entries: entries) { [self] tp, timestamp, epoch in
                try await listOffset(tp, timestamp: timestamp, epoch: epoch, connection: connection)
            }
            rounds.add(1, ordering: .relaxed)
        }
    }

    /// Asks the leader for one offset of a partition (ListOffsets: -1 LATEST, -2 EARLIEST).
    typealias ListOffset = @Sendable (TopicPartition, _ timestamp: Int64, _ leaderEpoch: Int32) async throws -> Int64

    /// Applies one fetch response (everything but the network): per partition append /
    /// truncate / back off, then the follower fsync policy -- what this round appended is on
    /// disk before the next fetch reports the new LEO. Returns the partitions that got data.
    @discardableResult
    func applyRound(_ response: FetchResponse, entries: [ReplicaFetchEntry], listOffset: ListOffset) async -> [Partition] {
        let byPartition = Dictionary(entries.map { ($0.topicPartition, $0) }, uniquingKeysWith: { a, _ in a })
        var appended: [Partition] = []
        for t in response.responses {
            for pd in t.partitions {
                let tp = TopicPartition(t.topic, pd.partitionIndex)
                guard let entry = byPartition[tp], stillFollowing(tp, epoch: entry.currentLeaderEpoch),
                      let p = replicas.partition(tp) else { continue }
                // Kafka's AbstractFetcherThread: an answer counts only if the log is still where
                // the fetch asked from. One that was overtaken (the log truncated or grew since)
                // could otherwise truncate again below what later answers appended and the
                // follower already counted into its high watermark (the data-path simulation
                // found this with a delayed DivergingEpoch answer).
                guard p.logEndOffset == entry.fetchOffset else { continue }
                if await process(pd, entry: entry, partition: p, listOffset: listOffset) { appended.append(p) }
            }
        }
        for p in appended {
            do {
                try p.log.flush()
            } catch {
                logger.error("Follower flush of \(p.topic)-\(p.index) failed: \(error)", metadata: .partition(p.topic, p.index))
            }
        }
        return appended
    }

    private func stillFollowing(_ tp: TopicPartition, epoch: Int32) -> Bool {
        state.withLock { $0.partitions[tp]?.leaderEpoch == epoch && !$0.stopped }
    }

    private func delay(_ tps: [TopicPartition], ms: Int64) {
        let until = clock.nowMs() + ms
        state.withLock { s in for tp in tps { s.partitions[tp]?.delayedUntilMs = until } }
    }

    /// Applies one partition of a fetch response. Returns whether records were appended.
    private func process(_ pd: FetchResponse.PartitionData, entry: ReplicaFetchEntry, partition p: Partition,
                         listOffset: ListOffset) async -> Bool {
        let tp = entry.topicPartition
        let epoch = entry.currentLeaderEpoch
        switch ErrorCode(rawValue: pd.errorCode) {
        case .none:
            if pd.divergingEpoch.epoch >= 0 {
                let log = p.log
                let (offset, complete) = FollowerTruncation.offset(
                    leaderEpoch: pd.divergingEpoch.epoch, leaderEndOffset: pd.divergingEpoch.endOffset,
                    followerEndOffsetForEpoch: FollowerTruncation.followerEndOffset(log, forEpoch: pd.divergingEpoch.epoch),
                    followerLogEndOffset: log.logEndOffset, fetchOffset: entry.fetchOffset)
                let before = (log.logEndOffset, log.latestEpoch)
                do {
                    try p.truncateAsFollower(to: offset, leaderEpoch: epoch)
                    logger.info("Truncated \(tp) to \(offset) (leader's diverging epoch \(pd.divergingEpoch.epoch) ends at \(pd.divergingEpoch.endOffset)\(complete ? "" : "; checking again"))", metadata: .partition(tp.topic, tp.partition))
                } catch {
                    logger.error("Truncation of \(tp) to \(offset) failed: \(error)", metadata: .partition(tp.topic, tp.partition))
                    delay([tp], ms: settings.backoffMs)
                }
                // No progress would loop at full speed against the same answer.
                if (log.logEndOffset, log.latestEpoch) == before { delay([tp], ms: settings.backoffMs) }
                return false
            }
            var didAppend = false
            if let records = pd.records, records.readableBytes > 0 {
                do {
                    didAppend = try p.appendAsFollower(records, leaderEpoch: epoch) != nil
                } catch {
                    logger.error("Follower append to \(tp) at \(entry.fetchOffset) failed: \(error)", metadata: .partition(tp.topic, tp.partition))
                    delay([tp], ms: settings.backoffMs)
                    return false
                }
            }
            p.updateFollowerHighWatermark(leaderHighWatermark: pd.highWatermark)
            return didAppend
        case .offsetOutOfRange:
            await handleOutOfRange(tp, entry: entry, partition: p, listOffset: listOffset)
            return false
        case .notLeaderOrFollower, .fencedLeaderEpoch, .unknownLeaderEpoch, .unknownTopicOrPartition:
            // The leader moved or does not know it leads yet: wait for the metadata.
            logger.debug("Follower fetch of \(tp) at epoch \(epoch): error \(ErrorCode(pd.errorCode).name); backing off", metadata: .partition(tp.topic, tp.partition, error: ErrorCode(pd.errorCode)))
            delay([tp], ms: settings.backoffMs)
            return false
        default:
            logger.warning("Follower fetch of \(tp) from broker \(sourceBroker): error \(ErrorCode(pd.errorCode).name); backing off \(settings.backoffMs) ms", metadata: .partition(tp.topic, tp.partition, error: ErrorCode(pd.errorCode)))
            delay([tp], ms: settings.backoffMs)
            return false
        }
    }

    /// Kafka's `AbstractFetcherThread.fetchOffsetAndTruncate`: when the leader's LEO is below
    /// ours we are ahead (an unclean election): truncate to it. Otherwise our LEO is below the
    /// leader's log start: start empty at its log start. The leader's offsets come from
    /// ListOffsets with ReplicaId = this broker (LATEST is then the LEO, not the HW).
    private func handleOutOfRange(_ tp: TopicPartition, entry: ReplicaFetchEntry, partition p: Partition,
                                  listOffset: ListOffset) async {
        let epoch = entry.currentLeaderEpoch
        do {
            let leaderEnd = try await listOffset(tp, -1, epoch)
            let ours = p.log.logEndOffset
            if leaderEnd < ours {
                logger.warning("Truncating \(tp) from \(ours) to the leader's end offset \(leaderEnd) (OFFSET_OUT_OF_RANGE)", metadata: .partition(tp.topic, tp.partition))
                try p.truncateAsFollower(to: leaderEnd, leaderEpoch: epoch)
                return
            }
            let leaderStart = try await listOffset(tp, -2, epoch)
            if leaderStart > ours {
                logger.warning("Restarting \(tp) at the leader's log start offset \(leaderStart) (ours ends at \(ours))", metadata: .partition(tp.topic, tp.partition))
                try p.truncateFullyAsFollower(startAt: leaderStart, leaderEpoch: epoch)
                return
            }
            // Neither: the leader could not place our last epoch. Try again after the back-off.
            logger.warning("OFFSET_OUT_OF_RANGE for \(tp) at \(entry.fetchOffset) with the leader's log at [\(leaderStart), \(leaderEnd)]; backing off", metadata: .partition(tp.topic, tp.partition))
            delay([tp], ms: settings.backoffMs)
        } catch {
            logger.warning("Could not resolve OFFSET_OUT_OF_RANGE of \(tp): \(error); backing off", metadata: .partition(tp.topic, tp.partition))
            delay([tp], ms: settings.backoffMs)
        }
    }

    private func listOffset(_ tp: TopicPartition, timestamp: Int64, epoch: Int32, connection: BrokerConnection) async throws -> Int64 {
        let (response, _) = try await connection.send(supported: 4...7) { _ in
            var request = ListOffsetsRequest()
            request.replicaId = nodeId
            var t = ListOffsetsRequest.ListOffsetsTopic()
            t.name = tp.topic
            var p = ListOffsetsRequest.ListOffsetsPartition()
            p.partitionIndex = tp.partition
            p.currentLeaderEpoch = epoch
            p.timestamp = timestamp
            t.partitions = [p]
            request.topics = [t]
            return request
        }
        guard let pr = response.topics.first(where: { $0.name == tp.topic })?.partitions.first(where: { $0.partitionIndex == tp.partition }) else {
            throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "ListOffsets answered without \(tp)")
        }
        guard pr.errorCode == 0 else { throw PartitionError(pr.errorCode, "ListOffsets of \(tp) failed") }
        return pr.offset
    }

    private func connect(_ endpoint: FetcherEndpoint) async throws -> BrokerConnection {
        if let open = state.withLock({ $0.connection }), open.isActive { return open }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: endpoint.host, port: endpoint.port),
                                                            nodeId: sourceBroker, config: tls?.applied(to: clientConfig) ?? clientConfig)
        let (kept, extra) = state.withLock { s -> (Bool, BrokerConnection?) in
            guard !s.stopped, s.endpoint == endpoint else { return (false, nil) }
            let old = s.connection
            s.connection = connection
            return (true, old)
        }
        extra?.close()
        guard kept else {
            connection.close()
            throw KafkaClientError.connectionClosed(broker: "\(endpoint.host):\(endpoint.port)")
        }
        return connection
    }

    private func drop(_ connection: BrokerConnection) {
        let dropped = state.withLock { s -> Bool in
            guard s.connection === connection else { return false }
            s.connection = nil
            return true
        }
        if dropped { connection.close() }
    }
}
