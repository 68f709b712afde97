import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// Incremental fetch sessions (KIP-227): the cache's contexts, what an incremental answer keeps,
/// eviction, and the Fetch handler end to end on a broker without sockets.
final class FetchSessionTests: XCTestCase {
    private func partition(_ p: Int32, offset: Int64) -> FetchRequest.FetchPartition {
        var fp = FetchRequest.FetchPartition()
        fp.partition = p
        fp.fetchOffset = offset
        fp.partitionMaxBytes = 1 << 20
        return fp
    }

    private func request(session: Int32, epoch: Int32, _ parts: [(String, Int32, Int64)] = [],
                         forget: [(String, Int32)] = []) -> FetchRequest {
        var r = FetchRequest()
        r.sessionId = session
        r.sessionEpoch = epoch
        for (t, p, o) in parts {
            if let i = r.topics.firstIndex(where: { $0.topic == t }) {
                r.topics[i].partitions.append(partition(p, offset: o))
            } else {
                var ft = FetchRequest.FetchTopic()
                ft.topic = t
                ft.partitions = [partition(p, offset: o)]
                r.topics.append(ft)
            }
        }
        for (t, p) in forget {
            var f = FetchRequest.ForgottenTopic()
            f.topic = t
            f.partitions = [p]
            r.forgottenTopicsData.append(f)
        }
        return r
    }

    private func response(for request: FetchRequest, hw: [Int32: Int64] = [:], records: Set<Int32> = [],
                          errors: [Int32: ErrorCode] = [:]) -> FetchResponse {
        readEveryPartition(of: request, hw: hw, records: records, errors: errors)
    }

    private func start(_ cache: FetchSessionCache, _ r: FetchRequest, version: Int16 = 12,
                       now: Int64 = 0) -> (FetchSessionCache.Context, FetchRequest)? {
        switch cache.newContext(r, version: version, nowMs: now, topicName: { _ in nil }) {
        case let .read(c, req): return (c, req)
        case .error: return nil
        }
    }

    private func error(_ cache: FetchSessionCache, _ r: FetchRequest, version: Int16 = 12) -> ErrorCode? {
        if case .error(let e) = cache.newContext(r, version: version, nowMs: 0, topicName: { _ in nil }) { return e }
        return nil
    }

    private func answered(_ r: FetchResponse) -> [Int32] { r.responses.flatMap { $0.partitions.map(\.partitionIndex) } }

    /// Opens a session on t-0..t-(n-1) and returns its id.
    private func open(_ cache: FetchSessionCache, partitions n: Int32, now: Int64 = 0) -> Int32 {
        let full = request(session: 0, epoch: 0, (0..<n).map { ("t", $0, 0) })
        guard let (ctx, req) = start(cache, full, now: now) else { XCTFail("no context"); return 0 }
        XCTAssertEqual(ctx, .full(privileged: false, usesTopicIds: false))
        return cache.answer(ctx, request: req, response: response(for: req), nowMs: now).sessionId
    }

    func testContextsFollowTheSessionIdAndEpoch() {
        let cache = FetchSessionCache(maxSessions: 10, nextId: { 7 })
        // Sessionless (librdkafka's): id 0, epoch -1.
        let (c0, _) = start(cache, request(session: 0, epoch: -1, [("t", 0, 0)]))!
        XCTAssertEqual(c0, .sessionless)
        XCTAssertEqual(cache.answer(c0, request: request(session: 0, epoch: -1), response: FetchResponse(), nowMs: 0).sessionId, 0)
        // Before v7 there are no sessions whatever the fields say.
        XCTAssertEqual(start(cache, request(session: 0, epoch: 0, [("t", 0, 0)]), version: 6)!.0, .sessionless)
        // Epoch 0 creates one; its first incremental epoch is 1.
        XCTAssertEqual(open(cache, partitions: 2), 7)
        XCTAssertEqual(cache.stats.sessions, 1)
        XCTAssertEqual(cache.stats.partitions, 2)
        XCTAssertEqual(error(cache, request(session: 8, epoch: 1)), .fetchSessionIdNotFound)
        XCTAssertEqual(error(cache, request(session: 7, epoch: 2)), .invalidFetchSessionEpoch)
        XCTAssertEqual(error(cache, request(session: 7, epoch: 1), version: 13), .fetchSessionTopicIdError)
        XCTAssertEqual(start(cache, request(session: 7, epoch: 1))!.0, .incremental(sessionId: 7))
        // The epoch moved on: 1 again is stale.
        XCTAssertEqual(error(cache, request(session: 7, epoch: 1)), .invalidFetchSessionEpoch)
        XCTAssertEqual(start(cache, request(session: 7, epoch: 2))!.0, .incremental(sessionId: 7))
        // Epoch -1 closes it and is answered without a session.
        XCTAssertEqual(start(cache, request(session: 7, epoch: -1, [("t", 0, 0)]))!.0, .sessionless)
        XCTAssertEqual(cache.stats.sessions, 0)
        XCTAssertEqual(error(cache, request(session: 7, epoch: 3)), .fetchSessionIdNotFound)
    }

    func testNoSlotsMeansNoSessions() {
        let cache = FetchSessionCache(maxSessions: 0)
        XCTAssertEqual(start(cache, request(session: 0, epoch: 0, [("t", 0, 0)]))!.0, .sessionless)
    }

    func testIncrementalFetchReadsTheWholeSessionAndAnswersOnlyNews() {
        let cache = FetchSessionCache(maxSessions: 10, nextId: { 5 })
        let id = open(cache, partitions: 3)
        // Nothing sent: every cached partition is read at its cached offset...
        var (ctx, req) = start(cache, request(session: id, epoch: 1))!
        XCTAssertEqual(req.topics.flatMap { $0.partitions.map(\.partition) }, [0, 1, 2])
        XCTAssertEqual(req.topics.count, 1, "consecutive partitions of one topic are grouped")
        // ...and only what changed is answered: p1's high watermark moved, p2 has records.
        var out = cache.answer(ctx, request: req, response: response(for: req, hw: [1: 11], records: [2]), nowMs: 0)
        XCTAssertEqual(out.sessionId, id)
        XCTAssertEqual(answered(out), [1, 2])
        // p2 returned records, so it moved to the end of the session's order.
        (ctx, req) = start(cache, request(session: id, epoch: 2, [("t", 2, 3)]))!
        XCTAssertEqual(req.topics.flatMap { $0.partitions.map(\.partition) }, [0, 1, 2])
        XCTAssertEqual(req.topics.flatMap { $0.partitions.map(\.fetchOffset) }, [0, 0, 3], "the new fetch offset is kept")
        out = cache.answer(ctx, request: req, response: response(for: req, hw: [1: 11]), nowMs: 0)
        XCTAssertEqual(answered(out), [], "nothing new")
        // An error is always answered, and the partition again once the error is gone.
        (ctx, req) = start(cache, request(session: id, epoch: 3))!
        out = cache.answer(ctx, request: req, response: response(for: req, hw: [1: 11], errors: [0: .notLeaderOrFollower]), nowMs: 0)
        XCTAssertEqual(answered(out), [0])
        (ctx, req) = start(cache, request(session: id, epoch: 4))!
        out = cache.answer(ctx, request: req, response: response(for: req, hw: [1: 11]), nowMs: 0)
        XCTAssertEqual(answered(out), [0])
        // Added and forgotten partitions.
        (ctx, req) = start(cache, request(session: id, epoch: 5, [("u", 0, 4)], forget: [("t", 0), ("t", 1)]))!
        XCTAssertEqual(req.topics.map(\.topic), ["t", "u"])
        XCTAssertEqual(cache.stats.partitions, 2)
        out = cache.answer(ctx, request: req, response: response(for: req, hw: [1: 11]), nowMs: 0)
        XCTAssertEqual(out.responses.map(\.topic), ["u"], "a new partition is answered once")
        // Forgetting the rest closes the session.
        (ctx, _) = start(cache, request(session: id, epoch: 6, forget: [("t", 2), ("u", 0)]))!
        XCTAssertEqual(ctx, .sessionless)
        XCTAssertEqual(cache.stats.sessions, 0)
    }

    func testEvictionPrefersStaleThenSmallerSessions() {
        let next = IdSequence([1, 2, 3, 4])
        let cache = FetchSessionCache(maxSessions: 1, nextId: { next.take() })
        XCTAssertEqual(open(cache, partitions: 2), 1)
        // Not stale, and a new session of the same size is not worth more: none created.
        XCTAssertEqual(open(cache, partitions: 2, now: 1_000), 0)
        XCTAssertEqual(cache.stats.evictions, 0)
        // A bigger one evicts the smaller.
        XCTAssertEqual(open(cache, partitions: 3, now: 2_000), 2)
        XCTAssertEqual(cache.stats.evictions, 1)
        XCTAssertEqual(error(cache, request(session: 1, epoch: 1)), .fetchSessionIdNotFound)
        // Unused for more than 120 s: any new session replaces it.
        XCTAssertEqual(open(cache, partitions: 1, now: 2_000 + FetchSessionCache.evictionMs + 1), 3)
        XCTAssertEqual(cache.stats.evictions, 2)
    }

    /// The handler end to end: a session opened by a full fetch, then incremental fetches that
    /// answer only the partition that got records.
    func testFetchHandlerServesIncrementalFetches() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("s", partitions: 3)
        for p: Int32 in 0..<3 { _ = try await h.produce("s", partition: p, try BrokerHarness.batch(["a", "b"])) }

        var full = request(session: 0, epoch: 0, [("s", 0, 0), ("s", 1, 0), ("s", 2, 0)])
        full.maxBytes = 50 << 20
        let firstMaybe = try await h.send(full, version: 12)
        let first = try XCTUnwrap(firstMaybe)
        XCTAssertEqual(first.errorCode, 0)
        XCTAssertNotEqual(first.sessionId, 0, "a session was created")
        XCTAssertEqual(answered(first), [0, 1, 2])
        let id = first.sessionId

        // The client moved every fetch offset to 2 (it read two records each): nothing new.
        var inc = request(session: id, epoch: 1, [("s", 0, 2), ("s", 1, 2), ("s", 2, 2)])
        inc.maxBytes = 50 << 20
        let quietMaybe = try await h.send(inc, version: 12)
        let quiet = try XCTUnwrap(quietMaybe)
        XCTAssertEqual(quiet.errorCode, 0)
        XCTAssertEqual(quiet.sessionId, id)
        XCTAssertEqual(answered(quiet), [])

        // One partition gets a record: only it is answered, with the record.
        _ = try await h.produce("s", partition: 1, try BrokerHarness.batch(["c"]))
        inc = request(session: id, epoch: 2)
        inc.maxBytes = 50 << 20
        let newsMaybe = try await h.send(inc, version: 12)
        let news = try XCTUnwrap(newsMaybe)
        XCTAssertEqual(answered(news), [1])
        let p1 = try XCTUnwrap(news.responses.first?.partitions.first)
        XCTAssertEqual(p1.highWatermark, 3)
        XCTAssertGreaterThan(p1.records?.readableBytes ?? 0, 0)

        // A stale epoch is the top-level error, with no partitions.
        let staleMaybe = try await h.send(request(session: id, epoch: 2), version: 12)
        let stale = try XCTUnwrap(staleMaybe)
        XCTAssertEqual(stale.errorCode, ErrorCode.invalidFetchSessionEpoch.rawValue)
        XCTAssertEqual(stale.sessionId, 0)
        XCTAssertEqual(stale.responses.count, 0)
    }
}

/// What a leader's read of every partition of `request` returns: high watermark `hw[partition]`
/// (default 10), log start 0, a few record bytes for the partitions in `records`, `errors` per
/// partition.
private func readEveryPartition(of request: FetchRequest, hw: [Int32: Int64] = [:], records: Set<Int32> = [],
                                errors: [Int32: ErrorCode] = [:]) -> FetchResponse {
    var r = FetchResponse()
    for t in request.topics {
        var tr = FetchResponse.FetchableTopicResponse()
        tr.topic = t.topic
        tr.topicId = t.topicId
        for p in t.partitions {
            var pd = FetchResponse.PartitionData()
            pd.partitionIndex = p.partition
            pd.highWatermark = hw[p.partition] ?? 10
            pd.logStartOffset = 0
            pd.errorCode = errors[p.partition]?.rawValue ?? 0
            pd.records = records.contains(p.partition) ? ByteBuffer(bytes: [1, 2, 3]) : ByteBuffer()
            tr.partitions.append(pd)
        }
        r.responses.append(tr)
    }
    return r
}

/// Session ids handed out in order (the cache's `nextId`).
private final class IdSequence: @unchecked Sendable {
    private var ids: [Int32]
    private let lock = NSLock()
    init(_ ids: [Int32]) { self.ids = ids }
    func take() -> Int32 { lock.withLock { ids.removeFirst() } }
}

/// The follower's side (``FollowerFetchSession``) against the leader's cache, without sockets:
/// what each request names and forgets, and how answers and errors move the session.
final class FollowerFetchSessionTests: XCTestCase {
    private func entry(_ p: Int32, offset: Int64, epoch: Int32 = 3) -> ReplicaFetchEntry {
        ReplicaFetchEntry(topicPartition: TopicPartition("t", p), currentLeaderEpoch: epoch, fetchOffset: offset,
                          lastFetchedEpoch: epoch, logStartOffset: 0)
    }

    private func sent(_ r: FetchRequest) -> [Int32] { r.topics.flatMap { $0.partitions.map(\.partition) } }
    private func forgotten(_ r: FetchRequest) -> [Int32] { r.forgottenTopicsData.flatMap(\.partitions) }

    /// The leader's answer to `request` through a real FetchSessionCache: every partition read
    /// with high watermark `hw[p]` (default 10) and records for `records`.
    private func leader(_ cache: FetchSessionCache, _ request: FetchRequest, hw: [Int32: Int64] = [:],
                        records: Set<Int32> = []) -> FetchResponse {
        switch cache.newContext(request, version: 12, nowMs: 0, topicName: { _ in nil }) {
        case .error(let e):
            var r = FetchResponse()
            r.errorCode = e.rawValue
            return r
        case let .read(ctx, effective):
            let r = readEveryPartition(of: effective, hw: hw, records: records)
            return cache.answer(ctx, request: effective, response: r, nowMs: 0)
        }
    }

    func testFullThenIncrementalThenBackToFullOnSessionLoss() {
        let cache = FetchSessionCache(maxSessions: 10, nextId: { 42 })
        var s = FollowerFetchSession()
        let settings = ReplicaFetchSettings()
        // Round 1: full, epoch 0, every partition; the leader opens session 42.
        var req = s.build(replicaId: 2, settings: settings, entries: [entry(0, offset: 5), entry(1, offset: 7)])
        XCTAssertEqual(req.sessionEpoch, 0)
        XCTAssertEqual(sent(req), [0, 1])
        XCTAssertTrue(s.handle(leader(cache, req)))
        XCTAssertEqual(s.sessionId, 42)
        XCTAssertEqual(s.nextEpoch, 1)
        // Round 2: nothing changed: an empty incremental request, an empty answer.
        req = s.build(replicaId: 2, settings: settings, entries: [entry(0, offset: 5), entry(1, offset: 7)])
        XCTAssertEqual([req.sessionId, req.sessionEpoch], [42, 1])
        XCTAssertEqual(sent(req), [])
        var answer = leader(cache, req)
        XCTAssertTrue(s.handle(answer))
        XCTAssertEqual(answer.responses.count, 0)
        // Round 3: p1 appended (offset moved), p0 backing off (left out): p1 sent, p0 forgotten;
        // the leader answers p1 only when it has news.
        req = s.build(replicaId: 2, settings: settings, entries: [entry(1, offset: 9)])
        XCTAssertEqual(sent(req), [1])
        XCTAssertEqual(forgotten(req), [0])
        answer = leader(cache, req, hw: [1: 12], records: [1])
        XCTAssertTrue(s.handle(answer))
        XCTAssertEqual(answer.responses.flatMap { $0.partitions.map(\.partitionIndex) }, [1])
        XCTAssertEqual(cache.stats.partitions, 1)
        // The leader loses the session (restart): FETCH_SESSION_ID_NOT_FOUND, then a full fetch.
        let fresh = FetchSessionCache(maxSessions: 10, nextId: { 43 })
        req = s.build(replicaId: 2, settings: settings, entries: [entry(1, offset: 9)])
        XCTAssertFalse(s.handle(leader(fresh, req)))
        XCTAssertEqual(s.sessionId, 0)
        XCTAssertTrue(s.isFull)
        req = s.build(replicaId: 2, settings: settings, entries: [entry(0, offset: 5), entry(1, offset: 9)])
        XCTAssertEqual([req.sessionId, req.sessionEpoch], [0, 0])
        XCTAssertEqual(sent(req), [0, 1])
        XCTAssertTrue(s.handle(leader(fresh, req)))
        XCTAssertEqual(s.sessionId, 43)
    }

    func testNoSessionOnTheLeaderKeepsFetchingInFull() {
        let cache = FetchSessionCache(maxSessions: 0)
        var s = FollowerFetchSession()
        for _ in 0..<3 {
            let req = s.build(replicaId: 2, settings: ReplicaFetchSettings(), entries: [entry(0, offset: 1)])
            XCTAssertEqual(req.sessionEpoch, 0)
            XCTAssertEqual(sent(req), [0])
            XCTAssertTrue(s.handle(leader(cache, req)))
            XCTAssertTrue(s.isFull)
        }
    }

    func testALostRequestAndAMismatchedAnswerMakeTheNextFetchFull() {
        let cache = FetchSessionCache(maxSessions: 10, nextId: { 7 })
        var s = FollowerFetchSession()
        var req = s.build(replicaId: 2, settings: ReplicaFetchSettings(), entries: [entry(0, offset: 1)])
        XCTAssertTrue(s.handle(leader(cache, req)))
        XCTAssertFalse(s.isFull)
        s.handleError()
        req = s.build(replicaId: 2, settings: ReplicaFetchSettings(), entries: [entry(0, offset: 1)])
        XCTAssertEqual([req.sessionId, req.sessionEpoch], [7, 0], "full, closing the old session")
        // A full answer that leaves a partition out does not fit: start over.
        var partial = FetchResponse()
        partial.sessionId = 8
        XCTAssertFalse(s.handle(partial))
        XCTAssertEqual(s.sessionId, 0)
        XCTAssertTrue(s.isFull)
    }
}
