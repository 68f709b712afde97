import KafkaProtocol
import NIOCore
import Synchronization

/// Incremental fetch sessions (KIP-227; Kafka's `kafka.server.FetchSession`, `FetchSessionCache`,
/// `FullFetchContext`, `IncrementalFetchContext`, `SessionlessFetchContext`).
///
/// Why: a consumer of many partitions otherwise sends every partition in every Fetch and gets
/// every partition back, even when nothing changed. In a session the broker remembers the
/// partitions and their fetch state; the client sends only what changed (added partitions,
/// new fetch offsets, forgotten partitions) and the broker answers only partitions with
/// something new (records, a moved high watermark or log start offset, an error, a diverging
/// epoch). Java clients, franz-go and kafka-python use sessions when the broker offers one;
/// librdkafka sends sessionless fetches (session id 0, epoch -1).
///
/// The request's (`session_id`, `session_epoch`) selects the context, as Kafka's
/// `FetchManager.newContext`:
/// * epoch -1 (FINAL): close the named session if any; answer as a plain full fetch, session 0;
/// * epoch 0 (INITIAL): close the named session if any; a full fetch that creates a session
///   when answered (if the cache has room, else session id 0: the client keeps full fetching);
/// * epoch > 0: an incremental fetch in session `session_id`: FETCH_SESSION_ID_NOT_FOUND when
///   the cache has no such session (evicted, or the broker restarted), INVALID_FETCH_SESSION_EPOCH
///   when the epoch is not the next one, FETCH_SESSION_TOPIC_ID_ERROR when the request's use of
///   topic ids (v13+) differs from the session's. A session left empty by forgotten partitions
///   is closed (answered as sessionless).
///
/// Incremental answers read every partition of the session at its cached fetch offset; the
/// response carries only the partitions that must respond (Kafka's
/// `CachedPartition.maybeUpdateResponseData`), and partitions that returned records move to the
/// end of the session's order, so a partition with a steady flow cannot starve the others of
/// the response's `max_bytes`.
///
/// Eviction (`FetchSessionCache.tryEvict`): when `max.incremental.fetch.session.cache.slots`
/// sessions exist, a new one replaces a session unused for 120 s, else the least valuable
/// session (followers' sessions are privileged; then fewer partitions; then the lower id)
/// if that is worth less than the new one; otherwise no session is created.
///
/// Pure apart from its lock: time comes from the caller and session ids from `nextId`.
public final class FetchSessionCache: Sendable {
    /// A session's partition: topic id (v13+ sessions) or name, and index.
    struct Key: Hashable, Sendable {
        var topicId: KafkaUUID
        var topic: String
        var partition: Int32
    }

    /// What the session remembers of one partition: the client's fetch parameters (updated when
    /// the client sends the partition again) and what the last response told it (high
    /// watermark, log start offset), to know whether the next response must include it.
    struct CachedPartition: Sendable {
        var key: Key
        var fetchOffset: Int64
        var logStartOffset: Int64
        var partitionMaxBytes: Int32
        var currentLeaderEpoch: Int32
        var lastFetchedEpoch: Int32
        /// -1 until a response has included the partition (then it must be included).
        var highWatermark: Int64 = -1
        var localLogStartOffset: Int64 = -1

        mutating func updateRequestParams(_ p: FetchRequest.FetchPartition) {
            fetchOffset = p.fetchOffset; logStartOffset = p.logStartOffset; partitionMaxBytes = p.partitionMaxBytes
            currentLeaderEpoch = p.currentLeaderEpoch; lastFetchedEpoch = p.lastFetchedEpoch
        }

        /// Kafka's `maybeUpdateResponseData`: whether `data` must be in an incremental response;
        /// with `update`, remembers what it told the client.
        mutating func mustRespond(_ data: FetchResponse.PartitionData, update: Bool) -> Bool {
            var must = false
            if let records = data.records, Self.recordsLength(records) > 0 { must = true }
            if highWatermark != data.highWatermark {
                must = true
                if update { highWatermark = data.highWatermark }
            }
            if localLogStartOffset != data.logStartOffset {
                must = true
                if update { localLogStartOffset = data.logStartOffset }
            }
            if data.preferredReadReplica >= 0 { must = true }
            if data.errorCode != 0 {
                // Errors are always sent; forgetting the high watermark sends the partition
                // again once the error has gone.
                if update { highWatermark = -1 }
                must = true
            }
            if data.divergingEpoch.epoch >= 0 { must = true }
            return must
        }

        /// The records' length, counting bytes a zero-copy answer leaves in the segment files.
        static func recordsLength(_ records: ByteBuffer) -> Int {
            RecordsSplice.current?.length(of: records) ?? records.readableBytes
        }
    }

    struct Session: Sendable {
        let id: Int32
        let privileged: Bool
        let usesTopicIds: Bool
        let creationMs: Int64
        var lastUsedMs: Int64
        /// The next epoch the client must send.
        var epoch: Int32
        var order: [Key] = []
        var partitions: [Key: CachedPartition] = [:]

        var size: Int { partitions.count }

        /// Adds or updates the request's partitions and removes the forgotten ones.
        mutating func update(_ topics: [FetchRequest.FetchTopic], forgotten: [Key]) {
            for t in topics {
                for p in t.partitions {
                    let key = FetchSessionCache.key(topicId: t.topicId, topic: t.topic, partition: p.partition, usesTopicIds: usesTopicIds)
                    if partitions[key] != nil {
                        partitions[key]!.updateRequestParams(p)
                    } else {
                        partitions[key] = CachedPartition(key: key, fetchOffset: p.fetchOffset, logStartOffset: p.logStartOffset,
                                                          partitionMaxBytes: p.partitionMaxBytes,
                                                          currentLeaderEpoch: p.currentLeaderEpoch, lastFetchedEpoch: p.lastFetchedEpoch)
                        order.append(key)
                    }
                }
            }
            if !forgotten.isEmpty {
                let gone = Set(forgotten.filter { partitions.removeValue(forKey: $0) != nil })
                if !gone.isEmpty { order.removeAll { gone.contains($0) } }
            }
        }
    }

    /// How a Fetch is answered with respect to sessions.
    public enum Context: Sendable, Equatable {
        /// No session: the response names session 0.
        case sessionless
        /// A full fetch that creates a session when answered (if there is room).
        case full(privileged: Bool, usesTopicIds: Bool)
        /// An incremental fetch in this session.
        case incremental(sessionId: Int32)
    }

    /// A Fetch's context and the request to read, or the session error to answer with.
    public enum Start: Sendable {
        case read(Context, FetchRequest)
        case error(ErrorCode)
    }

    /// Kafka's "a session unused this long may be evicted for a new one" (`KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS`).
    public static let evictionMs: Int64 = 120_000

    private struct State {
        var sessions: [Int32: Session] = [:]
        var evictions: Int64 = 0
    }

    private let state = Mutex(State())
    public let maxSessions: Int
    private let nextId: @Sendable () -> Int32

    /// - Parameters:
    ///   - maxSessions: `max.incremental.fetch.session.cache.slots`; 0 never creates a session.
    ///   - nextId: a candidate session id (retried while it is 0 or in use); random by default.
    public init(maxSessions: Int, nextId: @escaping @Sendable () -> Int32 = { Int32.random(in: 1...Int32.max) }) {
        self.maxSessions = maxSessions
        self.nextId = nextId
    }

    static func key(topicId: KafkaUUID, topic: String, partition: Int32, usesTopicIds: Bool) -> Key {
        usesTopicIds ? Key(topicId: topicId, topic: "", partition: partition) : Key(topicId: .zero, topic: topic, partition: partition)
    }

    /// The context of `request` (topic names already resolved, ``FetchHandler/normalized``) and
    /// the request to read: for an incremental fetch, every partition of the session with its
    /// cached fetch state (`topicName` names a v13+ session's topic ids; an unknown id gets "",
    /// answered UNKNOWN_TOPIC_ID). A session error is returned as the top-level error code.
    public func newContext(_ request: FetchRequest, version: Int16, nowMs: Int64,
                           topicName: (KafkaUUID) -> String?) -> Start {
        let usesTopicIds = version >= 13
        let privileged = request.replicaId >= 0
        if version < 7 { return .read(.sessionless, request) }
        if request.sessionEpoch == -1 || request.sessionEpoch == 0 {
            if request.sessionId != 0 { _ = state.withLock { $0.sessions.removeValue(forKey: request.sessionId) } }
            if request.sessionEpoch == -1 || maxSessions <= 0 { return .read(.sessionless, request) }
            return .read(.full(privileged: privileged, usesTopicIds: usesTopicIds), request)
        }
        return state.withLock { s -> Start in
            guard var session = s.sessions[request.sessionId] else { return .error(.fetchSessionIdNotFound) }
            guard session.epoch == request.sessionEpoch else { return .error(.invalidFetchSessionEpoch) }
            guard session.usesTopicIds == usesTopicIds else { return .error(.fetchSessionTopicIdError) }
            let forgotten = request.forgottenTopicsData.flatMap { t in
                t.partitions.map { Self.key(topicId: t.topicId, topic: t.topic, partition: $0, usesTopicIds: usesTopicIds) }
            }
            session.update(request.topics, forgotten: forgotten)
            if session.partitions.isEmpty {
                s.sessions[session.id] = nil
                return .read(.sessionless, request)
            }
            session.lastUsedMs = nowMs
            session.epoch = Self.nextEpoch(session.epoch)
            s.sessions[session.id] = session
            var effective = request
            effective.topics = Self.topics(of: session, topicName: topicName)
            effective.forgottenTopicsData = []
            return .read(.incremental(sessionId: session.id), effective)
        }
    }

    /// The response to send for `context`: a full fetch may create a session (its id in the
    /// response), an incremental one keeps only the partitions that must respond.
    public func answer(_ context: Context, request: FetchRequest, response: FetchResponse, nowMs: Int64) -> FetchResponse {
        var response = response
        switch context {
        case .sessionless:
            response.sessionId = 0
        case let .full(privileged, usesTopicIds):
            response.sessionId = createSession(request: request, response: response, privileged: privileged,
                                               usesTopicIds: usesTopicIds, nowMs: nowMs)
        case .incremental(let id):
            response = state.withLock { s -> FetchResponse in
                // Evicted while the request was parked: answer everything read, without a
                // session; the client's next incremental fetch learns FETCH_SESSION_ID_NOT_FOUND.
                guard var session = s.sessions[id] else { response.sessionId = 0; return response }
                var kept: [FetchResponse.FetchableTopicResponse] = []
                var movedToEnd: [Key] = []
                for t in response.responses {
                    var topic = t
                    topic.partitions = t.partitions.filter { p in
                        let key = Self.key(topicId: t.topicId, topic: t.topic, partition: p.partitionIndex, usesTopicIds: session.usesTopicIds)
                        guard session.partitions[key] != nil else { return true }
                        let must = session.partitions[key]!.mustRespond(p, update: true)
                        if let r = p.records, CachedPartition.recordsLength(r) > 0 { movedToEnd.append(key) }
                        return must
                    }
                    if !topic.partitions.isEmpty { kept.append(topic) }
                }
                if !movedToEnd.isEmpty {
                    let moved = Set(movedToEnd)
                    session.order = session.order.filter { !moved.contains($0) } + movedToEnd
                }
                s.sessions[id] = session
                response.responses = kept
                response.sessionId = id
                return response
            }
        }
        return response
    }

    private func createSession(request: FetchRequest, response: FetchResponse, privileged: Bool, usesTopicIds: Bool,
                               nowMs: Int64) -> Int32 {
        let size = request.topics.reduce(0) { $0 + $1.partitions.count }
        return state.withLock { s -> Int32 in
            guard maxSessions > 0 else { return 0 }
            if s.sessions.count >= maxSessions {
                guard Self.tryEvict(&s, privileged: privileged, size: size, nowMs: nowMs) else { return 0 }
                s.evictions += 1
            }
            var id = nextId()
            while id <= 0 || s.sessions[id] != nil { id = nextId() }
            var session = Session(id: id, privileged: privileged, usesTopicIds: usesTopicIds, creationMs: nowMs, lastUsedMs: nowMs,
                                  epoch: Self.nextEpoch(0))
            session.update(request.topics, forgotten: [])
            for t in response.responses {
                for p in t.partitions {
                    let key = Self.key(topicId: t.topicId, topic: t.topic, partition: p.partitionIndex, usesTopicIds: usesTopicIds)
                    _ = session.partitions[key]?.mustRespond(p, update: true)
                }
            }
            s.sessions[id] = session
            return id
        }
    }

    /// Kafka's `tryEvict`: a stale session first, else the least valuable one if it is worth
    /// less than the new session (privileged over not, then more partitions; a tie keeps the old one).
    private static func tryEvict(_ s: inout State, privileged: Bool, size: Int, nowMs: Int64) -> Bool {
        if let stale = s.sessions.values.min(by: { $0.lastUsedMs < $1.lastUsedMs }), stale.lastUsedMs + evictionMs < nowMs {
            s.sessions[stale.id] = nil
            return true
        }
        let candidates = s.sessions.values.filter { privileged || !$0.privileged }
        guard let least = candidates.min(by: { ($0.privileged ? 1 : 0, $0.size, $0.id) < ($1.privileged ? 1 : 0, $1.size, $1.id) })
        else { return false }
        let ours = (privileged ? 1 : 0, size, Int32(0))  // Kafka compares with id 0: a tie keeps the old session
        guard (least.privileged ? 1 : 0, least.size, least.id) < ours else { return false }
        s.sessions[least.id] = nil
        return true
    }

    /// The session's partitions as request topics, consecutive partitions of one topic grouped
    /// (Kafka's FetchResponse grouping), in the session's order.
    private static func topics(of session: Session, topicName: (KafkaUUID) -> String?) -> [FetchRequest.FetchTopic] {
        var topics: [FetchRequest.FetchTopic] = []
        for key in session.order {
            guard let c = session.partitions[key] else { continue }
            var p = FetchRequest.FetchPartition()
            p.partition = key.partition
            p.fetchOffset = c.fetchOffset
            p.logStartOffset = c.logStartOffset
            p.partitionMaxBytes = c.partitionMaxBytes
            p.currentLeaderEpoch = c.currentLeaderEpoch
            p.lastFetchedEpoch = c.lastFetchedEpoch
            let name = session.usesTopicIds ? (topicName(key.topicId) ?? "") : key.topic
            if let last = topics.indices.last, topics[last].topicId == key.topicId, topics[last].topic == name {
                topics[last].partitions.append(p)
            } else {
                var t = FetchRequest.FetchTopic()
                t.topic = name
                t.topicId = key.topicId
                t.partitions = [p]
                topics.append(t)
            }
        }
        return topics
    }

    /// Kafka's `FetchMetadata.nextEpoch`: 1 after the initial epoch, wrapping to 1 after Int32.max.
    static func nextEpoch(_ epoch: Int32) -> Int32 { epoch == Int32.max ? 1 : epoch + 1 }

    // MARK: Metrics (kafka.server:type=FetchSessionCache)

    /// NumIncrementalFetchSessions, NumIncrementalFetchPartitionsCached, and the evictions so far
    /// (IncrementalFetchSessionEvictionsPerSec's count).
    public var stats: (sessions: Int, partitions: Int, evictions: Int64) {
        state.withLock { s in (s.sessions.count, s.sessions.values.reduce(0) { $0 + $1.size }, s.evictions) }
    }
}
