import Foundation
import NIOCore
import XCTest
@testable import Broker

/// An in-memory `__consumer_offsets`: one record list per partition. Can be told to fail
/// appends, to test the coordinator's error paths.
final class InMemoryGroupLogStore: GroupLogStore, @unchecked Sendable {
    let partitionCount: Int32
    private let lock = NSLock()
    private var partitions: [Int32: [(key: ByteBuffer, value: ByteBuffer?)]] = [:]
    private var failAppends: Error?

    init(partitionCount: Int32 = 4) { self.partitionCount = partitionCount }

    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)]) async throws {
        try lock.withLock {
            if let failAppends { throw failAppends }
            partitions[partition, default: []].append(contentsOf: records)
        }
    }

    func readAll(partition: Int32) async throws -> [(key: ByteBuffer, value: ByteBuffer?)] {
        lock.withLock { partitions[partition] ?? [] }
    }

    func setFailure(_ error: Error?) { lock.withLock { failAppends = error } }

    /// Every record of every partition, decoded keys, in partition then log order.
    func allRecords() throws -> [(key: GroupRecordKey, value: ByteBuffer?)] {
        let raw = lock.withLock { partitions.keys.sorted().flatMap { partitions[$0]! } }
        return try raw.map { (try GroupRecordKey.decode($0.key), $0.value) }
    }
}

/// A clock that moves only when a test says so; `advance` runs due timers in deadline order.
final class ManualGroupScheduler: GroupScheduler, @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64
    private var nextSeq: UInt64 = 0
    private var pending: [(deadline: Int64, seq: UInt64, action: @Sendable () async -> Void, handle: Handle)] = []

    final class Handle: GroupTimerHandle, @unchecked Sendable {
        private let lock = NSLock()
        private var cancelled = false
        func cancel() { lock.withLock { cancelled = true } }
        var isCancelled: Bool { lock.withLock { cancelled } }
    }

    init(startMs: Int64 = 1_700_000_000_000) { now = startMs }

    func nowMs() -> Int64 { lock.withLock { now } }

    func schedule(afterMs delayMs: Int64, _ action: @escaping @Sendable () async -> Void) -> any GroupTimerHandle {
        lock.withLock {
            let handle = Handle()
            nextSeq += 1
            pending.append((now + max(delayMs, 0), nextSeq, action, handle))
            return handle
        }
    }

    /// Moves time forward by `ms`, running every timer that falls due, earliest first, with
    /// the clock set to its deadline.
    func advance(by ms: Int64) async {
        let target = lock.withLock { now + ms }
        while true {
            let next: (@Sendable () async -> Void)? = lock.withLock {
                pending.removeAll { $0.handle.isCancelled }
                guard let index = pending.indices.filter({ pending[$0].deadline <= target })
                    .min(by: { (pending[$0].deadline, pending[$0].seq) < (pending[$1].deadline, pending[$1].seq) })
                else { return nil }
                let entry = pending.remove(at: index)
                now = max(now, entry.deadline)
                return entry.action
            }
            guard let next else { break }
            await next()
        }
        lock.withLock { now = target }
    }
}

/// Drives one `Group` value by hand, standing in for the coordinator: it records answers to
/// parked requests, keeps the armed timers, and holds group writes until told they finished.
struct GroupHarness {
    var group: Group
    var config: GroupCoordinatorConfig
    var now: Int64 = 1_000_000
    var nextToken: UInt64 = 0
    var nextMemberNumber = 0
    var joins: [RequestToken: JoinGroupOutcome] = [:]
    var syncs: [RequestToken: SyncGroupOutcome] = [:]
    var timers: [GroupTimer: Int64] = [:]
    var pendingWrites: [(value: GroupMetadataValue, purpose: GroupPersistPurpose)] = []
    var writtenValues: [GroupMetadataValue] = []

    init(groupId: String = "g", config: GroupCoordinatorConfig = GroupCoordinatorConfig()) {
        self.group = Group(groupId: groupId, now: 1_000_000)
        self.config = config
    }

    mutating func token() -> RequestToken {
        nextToken += 1
        return RequestToken(nextToken)
    }

    mutating func apply(_ actions: [GroupAction]) {
        for action in actions {
            switch action {
            case .completeJoin(let t, let o):
                XCTAssertNil(joins[t], "join \(t) answered twice")
                joins[t] = o
            case .completeSync(let t, let o):
                XCTAssertNil(syncs[t], "sync \(t) answered twice")
                syncs[t] = o
            case .schedule(let timer, let deadline): timers[timer] = deadline
            case .cancel(let timer): timers.removeValue(forKey: timer)
            case .persistGroup(let value, let purpose): pendingWrites.append((value, purpose))
            }
        }
    }

    static func subscription(_ topics: [String]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int16(0))
        b.writeInteger(Int32(topics.count))
        for t in topics {
            b.writeInteger(Int16(t.utf8.count))
            b.writeString(t)
        }
        b.writeInteger(Int32(-1))  // null user data
        return b
    }

    static func joinInput(memberId: String = "", instanceId: String? = nil, clientId: String = "client",
                          session: Int32 = 10_000, rebalance: Int32 = 30_000,
                          protocols: [(String, [String])] = [("range", ["t"])], version: Int16 = 5) -> JoinGroupInput {
        JoinGroupInput(memberId: memberId, groupInstanceId: instanceId, clientId: clientId, clientHost: "/10.0.0.1",
                       sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, protocolType: "consumer",
                       protocols: protocols.map { GroupProtocolMetadata(name: $0.0, metadata: subscription($0.1)) },
                       requireKnownMemberId: version >= 4, supportsSkipAssignment: version >= 9)
    }

    /// Sends a JoinGroup and returns its token; the answer (if any yet) is in `joins`.
    @discardableResult
    mutating func join(_ input: JoinGroupInput) -> RequestToken {
        let t = token()
        nextMemberNumber += 1
        let actions = group.join(input, token: t, newMemberId: "\(input.clientId)-\(nextMemberNumber)", now: now, config: config)
        apply(actions)
        return t
    }

    /// Joins with MEMBER_ID_REQUIRED handled (two requests) and returns the member id and the
    /// token of the parked second join.
    mutating func joinTwoStep(_ input: JoinGroupInput) -> (memberId: String, token: RequestToken) {
        let first = join(input)
        guard let outcome = joins[first], outcome.error == .memberIdRequired else {
            XCTFail("expected MEMBER_ID_REQUIRED, got \(String(describing: joins[first]))")
            return ("", first)
        }
        var again = input
        again.memberId = outcome.memberId
        return (outcome.memberId, join(again))
    }

    @discardableResult
    mutating func sync(_ memberId: String, generation: Int32, instanceId: String? = nil,
                       assignments: [(String, String)] = []) -> RequestToken {
        let t = token()
        let input = SyncGroupInput(memberId: memberId, groupInstanceId: instanceId, generationId: generation,
                                   assignments: assignments.map { ($0.0, ByteBuffer(string: $0.1)) })
        apply(group.sync(input, token: t, now: now))
        return t
    }

    mutating func heartbeat(_ memberId: String, generation: Int32, instanceId: String? = nil) -> GroupErrorCode {
        let (error, actions) = group.heartbeat(memberId: memberId, instanceId: instanceId, generationId: generation, now: now)
        apply(actions)
        return error
    }

    mutating func leave(_ members: [LeavingMember]) -> LeaveGroupOutcome {
        let (outcome, actions) = group.leave(members, now: now, config: config)
        apply(actions)
        return outcome
    }

    /// Completes every queued group write with `error`.
    mutating func finishWrites(error: GroupErrorCode = .none) {
        while !pendingWrites.isEmpty {
            let write = pendingWrites.removeFirst()
            if error == .none { writtenValues.append(write.value) }
            apply(group.groupPersisted(write.purpose, error: error, now: now, config: config))
        }
    }

    /// Moves time to `now + ms`, firing due timers in deadline order.
    mutating func advance(by ms: Int64) {
        let target = now + ms
        while let (timer, deadline) = timers.filter({ $0.value <= target }).min(by: { $0.value < $1.value }) {
            timers.removeValue(forKey: timer)
            now = deadline
            apply(group.timerFired(timer, now: now, config: config))
        }
        now = target
    }
}

extension ByteBuffer {
    var stringValue: String { getString(at: readerIndex, length: readableBytes) ?? "" }
}

/// Polls `condition` until true or fails after ~5 s: for a parked request to reach the actor.
func eventually(_ message: String = "condition", file: StaticString = #filePath, line: UInt = #line,
                _ condition: () async -> Bool) async {
    for _ in 0..<5_000 {
        if await condition() { return }
        try? await Task.sleep(nanoseconds: 1_000_000)
    }
    XCTFail("timed out waiting for \(message)", file: file, line: line)
}

/// Wraps a store so a test can hold appends until it opens the gate, to look at the
/// coordinator while a write is in flight.
final class GatedGroupLogStore: GroupLogStore, @unchecked Sendable {
    let inner: InMemoryGroupLogStore
    private let lock = NSLock()
    private var closed = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var blockedCount = 0

    init(inner: InMemoryGroupLogStore) { self.inner = inner }
    var partitionCount: Int32 { inner.partitionCount }

    func close() { lock.withLock { closed = true } }

    func open() {
        let resumed: [CheckedContinuation<Void, Never>] = lock.withLock {
            closed = false
            defer { waiting.removeAll() }
            return waiting
        }
        for c in resumed { c.resume() }
    }

    /// Appends currently held at the gate.
    var blocked: Int { lock.withLock { blockedCount } }

    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)]) async throws {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let hold: Bool = lock.withLock {
                if closed { waiting.append(c); blockedCount += 1; return true }
                return false
            }
            if !hold { c.resume() }
        }
        lock.withLock { blockedCount = max(0, blockedCount - 1) }
        try await inner.append(partition: partition, records: records)
    }

    func readAll(partition: Int32) async throws -> [(key: ByteBuffer, value: ByteBuffer?)] {
        try await inner.readAll(partition: partition)
    }
}
