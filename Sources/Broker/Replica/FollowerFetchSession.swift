import KafkaClient
import KafkaProtocol

/// The follower's side of an incremental fetch session (KIP-227; Kafka's
/// `FetchSessionHandler`, which `ReplicaFetcherThread` uses for every leader).
///
/// Why: a follower fetches every partition it follows from one leader in every round, and
/// with thousands of partitions most of them have nothing new. In a session the request names
/// only partitions that were added or whose fetch state changed (fetch offset, leader epoch,
/// last fetched epoch, log start offset) and forgets those no longer fetched; the leader reads
/// every session partition at its cached state and answers only those with news. Partitions
/// the answer leaves out are unchanged on the leader: nothing to apply.
///
/// States (Kafka's `FetchMetadata`): no session (id 0): the next fetch is full with epoch 0,
/// which asks the leader for one; in a session: incremental fetches with epochs 1, 2, ...
/// A full answer with session id 0 (the leader has no room, or sessions off) keeps fetching in
/// full. A session error (FETCH_SESSION_ID_NOT_FOUND: the leader restarted or evicted it;
/// INVALID_FETCH_SESSION_EPOCH), an answer naming a partition outside the session, or a lost
/// connection make the next fetch full again (epoch 0, closing the old session on the leader).
///
/// A value: the fetcher keeps one per leader and mutates it around each round.
public struct FollowerFetchSession: Sendable, Equatable {
    public private(set) var sessionId: Int32 = 0
    /// The epoch of the next request: 0 = full (creates a session), > 0 = incremental.
    public private(set) var nextEpoch: Int32 = 0
    /// The partitions the session holds, as last sent (or as in the last full fetch).
    private var partitions: [TopicPartition: ReplicaFetchEntry] = [:]

    public init() {}

    public var isFull: Bool { nextEpoch == 0 }

    /// The request for `entries` (every partition to fetch this round): all of them when the
    /// next fetch is full, else only the added and changed ones, with the removed ones forgotten.
    public mutating func build(replicaId: Int32, settings: ReplicaFetchSettings, entries: [ReplicaFetchEntry]) -> FetchRequest {
        let next = Dictionary(entries.map { ($0.topicPartition, $0) }, uniquingKeysWith: { a, _ in a })
        var send = entries
        var forget: [TopicPartition] = []
        if !isFull {
            send = entries.filter { partitions[$0.topicPartition] != $0 }
            forget = partitions.keys.filter { next[$0] == nil }
        }
        partitions = next
        var request = ReplicaFetchRequestBuilder.build(replicaId: replicaId, settings: settings, entries: send)
        request.sessionId = sessionId
        request.sessionEpoch = nextEpoch
        let byTopic = Dictionary(grouping: forget, by: \.topic)
        request.forgottenTopicsData = byTopic.keys.sorted().map { topic in
            var f = FetchRequest.ForgottenTopic()
            f.topic = topic
            f.partitions = byTopic[topic]!.map(\.partition).sorted()
            return f
        }
        return request
    }

    /// Takes in the answer to the request `build` made. False when it was a session error or
    /// an answer that does not fit the session (then the next fetch is full again, and the
    /// answer's partitions must not be applied: a session error has none).
    public mutating func handle(_ response: FetchResponse) -> Bool {
        if response.errorCode != 0 {
            if response.errorCode == ErrorCode.fetchSessionIdNotFound.rawValue { sessionId = 0 }
            nextEpoch = 0
            return false
        }
        let answered = Set(response.responses.flatMap { t in t.partitions.map { TopicPartition(t.topic, $0.partitionIndex) } })
        if isFull {
            guard answered == Set(partitions.keys) else {
                // Kafka's verifyFullFetchResponsePartitions: start over.
                sessionId = 0
                nextEpoch = 0
                return false
            }
            if response.sessionId != 0 {
                sessionId = response.sessionId
                nextEpoch = 1
            } else {
                sessionId = 0
            }
            return true
        }
        guard answered.isSubset(of: Set(partitions.keys)) else {
            nextEpoch = 0
            return false
        }
        if response.sessionId == 0 {
            // The leader closed the session (all its partitions were forgotten).
            sessionId = 0
            nextEpoch = 0
        } else {
            nextEpoch = nextEpoch == Int32.max ? 1 : nextEpoch + 1
        }
        return true
    }

    /// The request failed (no answer): the next fetch is full, closing the session on the
    /// leader if it still has it.
    public mutating func handleError() { nextEpoch = 0 }
}
