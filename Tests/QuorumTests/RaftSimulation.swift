import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
@testable import Quorum

/// A deterministic simulation of a KRaft quorum (notes §5.5, §5.7A): N real ``RaftNode``s
/// (the real state machine, the real `PartitionLog` and `quorum-state` file) on one
/// ``SimulatedFileSystem`` each, talking over ``InMemoryRaftNetwork``, with one virtual clock
/// and one seeded generator deciding everything, so a seed replays a run exactly.
///
/// Faults: message loss, delay spikes, reordering, duplication, one-way and two-way partitions,
/// process crash (kill -9: page cache kept), power loss (unsynced writes dropped or torn), a
/// crash in the middle of a step (after some of its effects: e.g. after persisting a vote but
/// before answering, after appending but before the fsync), graceful shutdown, restart.
///
/// Invariants, checked after every step (a violation stops the run):
/// * **SingleLeader**: at most one leader per epoch, ever.
/// * **MonotonicEpoch**: a node's epoch never decreases (across restarts), nor what it persists.
/// * **MonotonicHighWatermark**: a node's HW never decreases within an incarnation; HW <= LEO.
/// * **ConsistentCommittedData**: every node's batches below its HW are identical (offset,
///   epoch, CRC) to the committed history, which only grows.
/// * **MajorityHoldsCommitted**: the committed history is a prefix of the *durable* log of a
///   majority of voters (what would survive if every node lost power now).
/// * **VotePersistedBeforeSent**: a granted vote leaves a node only when its `quorum-state`
///   already records that vote; a BeginQuorumEpoch only when it records the leadership.
/// * **MirrorMatchesLog**: the replica's view of its log equals the `PartitionLog`'s.
/// * **DurableSurvives**: a restarted node's recovered log starts with everything it had fsynced.
/// * no node reports a fatal error (e.g. truncation below its HW).
///
/// Liveness, after healing (all nodes up, no partitions, no loss): a leader is elected and a
/// new entry commits within `livenessBoundMs` of simulated time, and every voter then reaches
/// that high watermark.
final class RaftSimulation: @unchecked Sendable {
    struct Options {
        var voters = 3
        /// Non-voting nodes (brokers) that follow the log as observers, ids 101...
        var observers = 0
        var chaosMs: Int64 = 20_000
        var livenessBoundMs: Int64 = 30_000
        var faults: RaftTestingFaults = .none
        /// Print every trace line as it happens (single-seed replays).
        var verbose = false
    }

    struct BatchId: Equatable, CustomStringConvertible {
        var base: Int64
        var last: Int64
        var epoch: Int32
        var crc: UInt32
        var description: String { "[\(base)-\(last) e\(epoch) crc \(crc)]" }
    }

    struct Failure: Error, CustomStringConvertible {
        var seed: UInt64
        var message: String
        var trace: [String]
        var description: String {
            "raft simulation seed \(seed) failed: \(message)\n  replay: SAMSA_RAFT_SEED=\(seed) swift test --filter QuorumTests.RaftSimulationTests\n"
                + "  last events:\n" + trace.suffix(80).map { "    " + $0 }.joined(separator: "\n")
        }
    }

    struct Stats {
        var steps = 0, crashes = 0, powerLosses = 0, midStepCrashes = 0, restarts = 0, shutdowns = 0
        var partitions = 0, proposals = 0, elections = 0
        var committedOffset: Int64 = 0
        var healToCommitMs: Int64 = 0
    }

    let seed: UInt64
    let options: Options
    let config: QuorumConfig
    let clock = ManualLogClock(milliseconds: 1_000_000)
    let network: InMemoryRaftNetwork
    /// Voters, then observers.
    let allIds: [RaftNodeId]
    var random: SeededRandom
    var fileSystems: [RaftNodeId: SimulatedFileSystem] = [:]
    var nodes: [RaftNodeId: RaftNode] = [:]
    var trace: [String] = []
    var violation: String?
    var stats = Stats()

    // Invariant state.
    var leaderOfEpoch: [Int32: RaftNodeId] = [:]
    var maxEpoch: [RaftNodeId: Int32] = [:]
    var maxPersistedEpoch: [RaftNodeId: Int32] = [:]
    var lastHighWatermark: [RaftNodeId: Int64] = [:]
    var committed: [BatchId] = []
    var batches: [RaftNodeId: [BatchId]] = [:]
    var durable: [RaftNodeId: [BatchId]] = [:]

    // Scheduling.
    var nextChaosAction: Int64 = 0
    var nextProposal: Int64 = 0
    var crashNextStep = false
    var proposalCounter = 0

    static let directory = "/metadata/__cluster_metadata-0"

    init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        self.random = SeededRandom(seed: seed)
        self.config = QuorumConfig(voters: (1...Int32(options.voters)).map { $0 }, clusterId: "sim-cluster-\(seed % 7)")
        self.network = InMemoryRaftNetwork(clock: clock, seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        self.allIds = config.voters + (0..<Int32(options.observers)).map { 101 + $0 }
        for id in allIds { fileSystems[id] = SimulatedFileSystem() }
        network.setObserver { [unowned self] from, to, message in self.observe(from: from, to: to, message) }
    }

    var now: Int64 { clock.milliseconds() }

    func log(_ line: String) {
        let entry = "t=\(now - 1_000_000) \(line)"
        if options.verbose { print(entry) }
        trace.append(entry)
        if trace.count > 2000 { trace.removeFirst(1000) }
    }

    func fail(_ message: String) {
        if violation == nil {
            violation = message
            log("VIOLATION: \(message)")
        }
    }

    // MARK: Running

    /// Runs chaos, heals, checks liveness. Throws ``Failure`` on any violation.
    func run() throws -> Stats {
        for id in allIds { startNode(id) }
        nextChaosAction = now + randomIn(200...1500)
        nextProposal = now + randomIn(20...300)
        let chaosEnd = now + options.chaosMs
        runLoop(until: chaosEnd, chaos: true)
        try check()

        heal()
        let healedAt = now
        var committedAt: Int64?
        var target: Int64?
        var proposedBy: RaftNodeId?
        let limit = healedAt + options.livenessBoundMs
        while now < limit, violation == nil {
            if target == nil, let (id, node) = currentLeader() {
                do {
                    if let result = try node.propose([ByteBuffer(string: "after-heal-\(seed)")], now: now) {
                        target = result.offset
                        proposedBy = id
                        log("n\(id) proposes after heal at offset \(result.offset) e\(result.epoch)")
                        afterEffects(of: id, effects: [.appendAsLeader(ByteBuffer(), epoch: 0, expectedBaseOffset: 0), .flush])
                    }
                } catch { fail("n\(id) propose failed: \(error)") }
            }
            if let t = target, let id = proposedBy {
                let node = nodes[id]
                if node == nil || (node!.replica.role != .leader && node!.replica.highWatermark <= t) {
                    target = nil   // gone, or lost leadership before it committed: propose again at the next leader
                } else if let node, node.replica.highWatermark > t {
                    committedAt = now
                    break
                }
            }
            runLoop(until: min(limit, now + 50), chaos: false)
        }
        try check()
        guard let committedAt, let target else {
            fail("liveness: no entry committed within \(options.livenessBoundMs) ms after healing "
                 + "(states: \(nodes.sorted { $0.key < $1.key }.map { "n\($0.key) \($0.value.replica.role.rawValue) e\($0.value.replica.epoch)" }.joined(separator: ", ")))")
            try check()
            return stats
        }
        stats.healToCommitMs = committedAt - healedAt
        // Every voter reaches the high watermark.
        let caughtUpLimit = now + 10_000
        while now < caughtUpLimit, violation == nil, !nodes.values.allSatisfy({ $0.replica.highWatermark > target }) {
            runLoop(until: min(caughtUpLimit, now + 50), chaos: false)
        }
        if !nodes.values.allSatisfy({ $0.replica.highWatermark > target }) {
            fail("liveness: not every voter reached the high watermark \(target + 1) within 10 s of the commit")
        }
        try check()
        stats.committedOffset = committed.last.map { $0.last + 1 } ?? 0
        return stats
    }

    func check() throws {
        if let violation { throw Failure(seed: seed, message: violation, trace: trace) }
    }

    func randomIn(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &random) }
    func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    func runLoop(until end: Int64, chaos: Bool) {
        var spins = 0
        while violation == nil {
            spins += 1
            if spins > 200_000 { return fail("livelock: 200000 events without time moving at t=\(now)") }
            if let envelope = network.nextDue(now: now) {
                if nodes[envelope.to] != nil { step(envelope.to, .received(from: envelope.from, envelope.message)) }
                continue
            }
            if chaos, now >= nextChaosAction {
                chaosAction()
                nextChaosAction = now + randomIn(100...1500)
                continue
            }
            if now >= nextProposal {
                propose()
                nextProposal = now + randomIn(20...300)
                continue
            }
            var ticked = false
            for id in nodes.keys.sorted() {
                guard let node = nodes[id], let d = node.replica.nextDeadline(), d <= now else { continue }
                step(id, .tick)
                ticked = true
            }
            if ticked { continue }
            // Nothing is due: move the clock to the next thing that is.
            var next = min(end, nextProposal)
            if chaos { next = min(next, nextChaosAction) }
            if let d = network.nextDeliveryTime { next = min(next, d) }
            for node in nodes.values { if let d = node.replica.nextDeadline() { next = min(next, d) } }
            if next >= end {
                clock.set(milliseconds: max(now, end))
                return
            }
            clock.set(milliseconds: max(now + 1, next))
            spins = 0
        }
    }

    /// One event at one node, all its effects executed (or, for a mid-step crash, some).
    func step(_ id: RaftNodeId, _ event: RaftEvent) {
        guard let node = nodes[id] else { return }
        stats.steps += 1
        let crashing = crashNextStep
        let limit: Int? = crashing ? Int(randomIn(0...4)) : nil
        if crashing { crashNextStep = false }
        do {
            let effects = try node.handle(event, now: now, limit: limit)
            let executed = limit.map { Array(effects.prefix($0)) } ?? effects
            afterEffects(of: id, effects: executed)
            if crashing {
                stats.midStepCrashes += 1
                log("n\(id) crashes after \(executed.count) of \(effects.count) effects of \(describe(event))")
                crash(id, powerLoss: chance(0.5))
            }
        } catch {
            fail("n\(id) failed handling \(describe(event)): \(error)")
        }
        checkInvariants()
    }

    func describe(_ event: RaftEvent) -> String {
        switch event {
        case .tick: "tick"
        case .shutdown: "shutdown"
        case .received(let from, let message):
            switch message {
            case .request(let id, let r): "\(r.apiKey.name) request #\(id) from n\(from)"
            case .response(let id, let r): "\(r.apiKey.name) response #\(id) from n\(from)"
            }
        }
    }

    func afterEffects(of id: RaftNodeId, effects: [RaftEffect]) {
        guard let node = nodes[id] else { return }
        var changed = false, flushed = false, truncated = false
        var cut = Int64.max
        for effect in effects {
            switch effect {
            case .appendAsLeader, .appendAsFollower: changed = true
            case .truncate(let offset):
                changed = true; truncated = true
                cut = min(cut, offset)
                log("n\(id) truncates to \(offset)")
            case .flush: flushed = true
            case .persistElectionState(let state):
                if state.epoch < (maxPersistedEpoch[id] ?? 0) {
                    fail("MonotonicEpoch: n\(id) persisted epoch \(state.epoch) after \(maxPersistedEpoch[id] ?? 0)")
                }
                maxPersistedEpoch[id] = max(maxPersistedEpoch[id] ?? 0, state.epoch)
            case .transitioned(let from, let to, let epoch):
                log("n\(id) \(from.rawValue) -> \(to.rawValue) epoch \(epoch)")
                if to == .leader { stats.elections += 1 }
            case .highWatermark(let hw):
                if options.verbose { log("n\(id) high watermark \(hw)") }
            default: break
            }
        }
        if changed { batches[id] = readBatches(node, after: (batches[id] ?? []).filter { $0.last < cut }) }
        if flushed {
            durable[id] = batches[id]
        } else if truncated {
            // The cut is fsynced; what was durable below it stays durable.
            let now = batches[id] ?? [], before = durable[id] ?? []
            durable[id] = Array(zip(now, before).prefix { $0 == $1 }.map(\.0))
        }
    }

    /// The batches of `node`'s log, read from the log itself: `known` (a prefix already read)
    /// followed by whatever the log holds after it.
    func readBatches(_ node: RaftNode, after known: [BatchId] = []) -> [BatchId] {
        do {
            let end = node.log.logEndOffset
            let from = known.last.map { $0.last + 1 } ?? 0
            guard end > from else { return known }
            let result = try node.log.read(from: from, maxBytes: Int(Int32.max), maxOffset: nil, minOneBatch: true)
            let bytes = try result.readBytes()
            var ids = known
            var index = bytes.readerIndex
            while index < bytes.writerIndex {
                let header = try RecordBatchHeader.peek(bytes, at: index)
                try header.verifyCRC(of: bytes, at: index)
                ids.append(BatchId(base: header.baseOffset, last: header.lastOffset, epoch: header.partitionLeaderEpoch, crc: header.crc))
                index += header.totalSize
            }
            return ids
        } catch {
            fail("n\(node.id): cannot read its log: \(error)")
            return []
        }
    }

    // MARK: Invariants

    func checkInvariants() {
        for (id, node) in nodes.sorted(by: { $0.key < $1.key }) {
            let r = node.replica
            let actual = RaftLogView(endOffset: node.log.logEndOffset, epochs: node.log.leaderEpochEntries)
            if r.log != actual { fail("MirrorMatchesLog: n\(id) believes \(r.log), log has \(actual)") }
            if r.epoch < (maxEpoch[id] ?? 0) { fail("MonotonicEpoch: n\(id) went from epoch \(maxEpoch[id] ?? 0) to \(r.epoch)") }
            maxEpoch[id] = max(maxEpoch[id] ?? 0, r.epoch)
            if r.role == .leader {
                if let other = leaderOfEpoch[r.epoch], other != id {
                    fail("SingleLeader: n\(id) and n\(other) both led epoch \(r.epoch)")
                }
                leaderOfEpoch[r.epoch] = id
            }
            let hw = r.highWatermark
            if hw < (lastHighWatermark[id] ?? 0) { fail("MonotonicHighWatermark: n\(id) went from \(lastHighWatermark[id] ?? 0) to \(hw)") }
            if hw > r.log.endOffset { fail("n\(id) high watermark \(hw) above its log end \(r.log.endOffset)") }
            lastHighWatermark[id] = hw
            guard hw > 0 else { continue }
            let mine = (batches[id] ?? []).filter { $0.last < hw }
            guard let last = mine.last, last.last == hw - 1 else {
                fail("n\(id) high watermark \(hw) is not at a batch boundary of its log \(batches[id] ?? [])")
                continue
            }
            let common = min(mine.count, committed.count)
            if Array(mine.prefix(common)) != Array(committed.prefix(common)) {
                let at = (0..<common).first { mine[$0] != committed[$0] } ?? 0
                fail("ConsistentCommittedData: n\(id) committed \(mine[at]) where the history has \(committed[at])")
            }
            if mine.count > committed.count { committed = mine }
        }
        if !committed.isEmpty {
            let holders = config.voters.filter { (durable[$0] ?? []).starts(with: committed) }
            if holders.count < config.majority {
                fail("MajorityHoldsCommitted: committed history up to \(committed.last!.last) is durable on \(holders) only")
            }
        }
    }

    /// VotePersistedBeforeSent, checked on the wire: the sender's `quorum-state` must already say it.
    func observe(from: RaftNodeId, to: RaftNodeId, _ message: RaftMessage) {
        switch message {
        case .response(_, .vote(let response)):
            guard let p = response.topics.first?.partitions.first, p.voteGranted else { return }
            let stored = storedState(from)
            if stored?.epoch != p.leaderEpoch || stored?.votedId != to {
                fail("VotePersistedBeforeSent: n\(from) grants n\(to) its vote in epoch \(p.leaderEpoch), quorum-state says \(stored.map { "\($0)" } ?? "nothing")")
            }
        case .request(_, .beginQuorumEpoch(let request)):
            guard let p = request.topics.first?.partitions.first else { return }
            let stored = storedState(from)
            if stored?.epoch != p.leaderEpoch || stored?.leaderId != from {
                fail("LeaderPersistedBeforeSent: n\(from) announces epoch \(p.leaderEpoch), quorum-state says \(stored.map { "\($0)" } ?? "nothing")")
            }
        default: break
        }
    }

    func storedState(_ id: RaftNodeId) -> ElectionState? {
        guard let fs = fileSystems[id] else { return nil }
        return try? QuorumStateFile(directory: Self.directory, fileSystem: fs).read()
    }

    // MARK: Node lifecycle

    func startNode(_ id: RaftNodeId) {
        guard nodes[id] == nil, let fs = fileSystems[id] else { return }
        do {
            let node = try RaftNode(id: id, config: config, directory: Self.directory, fileSystem: fs, clock: clock,
                                    transport: network, now: now, randomSeed: random.next(), faults: options.faults)
            nodes[id] = node
            lastHighWatermark[id] = 0
            let recovered = readBatches(node)
            if let before = durable[id], !recovered.starts(with: before) {
                fail("DurableSurvives: n\(id) had fsynced \(before.count) batches, recovered \(recovered)")
            }
            batches[id] = recovered
            durable[id] = recovered
            log("n\(id) starts: \(node.replica.role.rawValue) epoch \(node.replica.epoch), log end \(node.replica.log.endOffset)")
        } catch {
            fail("n\(id) cannot start: \(error)")
        }
        checkInvariants()
    }

    func crash(_ id: RaftNodeId, powerLoss: Bool) {
        guard nodes.removeValue(forKey: id) != nil else { return }
        network.dropMessages(involving: id)
        stats.crashes += 1
        if powerLoss {
            stats.powerLosses += 1
            fileSystems[id]!.powerLoss(&random)
        }
        log("n\(id) crashes\(powerLoss ? " with power loss" : " (kill -9)")")
    }

    func heal() {
        crashNextStep = false   // no crash may happen after healing
        network.faults = .none
        network.cut = []
        log("heal: no loss, no partitions, every node up")
        for id in allIds where nodes[id] == nil {
            stats.restarts += 1
            startNode(id)
        }
    }

    // MARK: Chaos

    /// The leader with the highest epoch (an old one may not know yet), by id for determinism.
    func currentLeader() -> (RaftNodeId, RaftNode)? {
        nodes.sorted { $0.key < $1.key }
            .filter { $0.value.replica.role == .leader }
            .max { $0.value.replica.epoch < $1.value.replica.epoch }
            .map { ($0.key, $0.value) }
    }

    func propose() {
        guard let (id, node) = currentLeader() else { return }
        proposalCounter += 1
        let values = (0..<Int(randomIn(1...3))).map { ByteBuffer(string: "v\(proposalCounter)-\($0)-seed\(seed)") }
        do {
            let effects = try proposeEffects(node, values)
            stats.proposals += 1
            afterEffects(of: id, effects: effects)
        } catch {
            fail("n\(id) propose failed: \(error)")
        }
        checkInvariants()
    }

    private func proposeEffects(_ node: RaftNode, _ values: [ByteBuffer]) throws -> [RaftEffect] {
        guard try node.propose(values, now: now) != nil else { return [] }
        return [.appendAsLeader(ByteBuffer(), epoch: 0, expectedBaseOffset: 0), .flush]
    }

    func chaosAction() {
        let alive = nodes.keys.sorted()
        let dead = allIds.filter { nodes[$0] == nil }
        switch Int(randomIn(0...99)) {
        case 0..<15:
            var faults = InMemoryRaftNetwork.Faults()
            faults.lossProbability = chance(0.5) ? Double(randomIn(0...30)) / 100 : 0
            faults.duplicateProbability = chance(0.3) ? Double(randomIn(0...10)) / 100 : 0
            faults.minDelayMs = randomIn(0...5)
            faults.maxDelayMs = faults.minDelayMs + randomIn(0...40)
            faults.spikeProbability = chance(0.3) ? Double(randomIn(1...10)) / 100 : 0
            faults.spikeDelayMs = randomIn(0...3000)
            network.faults = faults
            log("network: loss \(faults.lossProbability) dup \(faults.duplicateProbability) delay \(faults.minDelayMs)-\(faults.maxDelayMs) spikes \(faults.spikeProbability)x\(faults.spikeDelayMs)")
        case 15..<30:
            stats.partitions += 1
            var cut: Set<InMemoryRaftNetwork.Link> = []
            let voters = allIds.shuffled(using: &random)
            switch Int(randomIn(0...3)) {
            case 0:   // isolate one node, both ways
                let x = voters[0]
                for y in voters where y != x { cut.insert(.init(from: x, to: y)); cut.insert(.init(from: y, to: x)) }
                log("partition: n\(x) isolated")
            case 1:   // one-way: x hears nobody (its messages still go out)
                let x = voters[0]
                for y in voters where y != x { cut.insert(.init(from: y, to: x)) }
                log("partition: n\(x) receives nothing (one-way)")
            case 2:   // split into a majority and a minority
                let minority = Array(voters.prefix(voters.count / 2))
                for a in minority { for b in voters where !minority.contains(b) { cut.insert(.init(from: a, to: b)); cut.insert(.init(from: b, to: a)) } }
                log("partition: minority \(minority.sorted()) split off")
            default:  // the leader cannot send (its fetch responses and BeginQuorumEpochs vanish)
                if let leader = currentLeader()?.0 {
                    for y in voters where y != leader { cut.insert(.init(from: leader, to: y)) }
                    log("partition: leader n\(leader) cannot send (one-way)")
                }
            }
            network.cut = cut
        case 30..<42:
            network.cut = []
            log("partition healed")
        case 42..<54:
            if let x = alive.randomElement(using: &random) { crash(x, powerLoss: chance(0.6)) }
        case 54..<60:
            if !alive.isEmpty {
                crashNextStep = true
                log("the next step crashes part-way")
            }
        case 60..<80:
            if let x = dead.randomElement(using: &random) {
                stats.restarts += 1
                startNode(x)
            }
        case 80..<86:
            if let (id, node) = currentLeader() {
                stats.shutdowns += 1
                log("n\(id) shuts down gracefully")
                step(id, .shutdown)
                // Let EndQuorumEpoch go out, then stop cleanly (everything flushed).
                if nodes[id] != nil {
                    try? node.close()
                    fileSystems[id]!.syncEverything()
                    durable[id] = batches[id]
                    nodes[id] = nil
                    network.dropMessages(to: id)
                    log("n\(id) stopped")
                }
            }
        default:
            break
        }
    }
}
