import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// The deterministic simulation of the data path (issue 12 item 7, notes §5.5/§5.7A), with the
/// seed discipline of the quorum simulation (`QuorumTests/RaftSimulation.swift`): one seeded
/// generator drives every choice, so a run replays exactly from its seed.
///
/// Three brokers host one partition (replicas [1, 2, 3], `min.insync.replicas=2`), each with a
/// real ``ReplicaManager`` / ``Partition`` / ``PartitionLog`` on its own ``SimulatedFileSystem``
/// and a real ``ReplicaFetcher`` whose rounds are applied with `applyRound` (append, DivergingEpoch
/// truncation, OFFSET_OUT_OF_RANGE, the follower fsync policy). The leader side is the Fetch
/// handler's follower branch on the real partition (`readForFollower`, `updateFollowerFetchState`,
/// which proposes ISR expansions). The controller is the real pure code: `AlterPartitionControl`
/// for ISR changes (epochs checked), `ClusterControl.fencingRecords` / `unfencingRecords` for
/// broker loss and return (leader election from the ISR, unclean election off), applied to a
/// ``MetadataImage`` that every broker that can hear the controller gets through
/// `ReplicaManager.apply`.
///
/// Faults, one every few steps: kill -9 (the page cache survives), power loss of one broker
/// (unsynced writes dropped or torn) or of the whole cluster at once (acknowledged records must
/// survive it: the leader and every follower fsync what they count into the HW), restart with a
/// new broker epoch, a follower cut off from its leader,
/// a broker cut off from the controller (fenced while it still thinks it leads: a zombie
/// leader), heal; fetch answers delayed and delivered out of order; ISR shrinks after
/// `replica.lag.time.max.ms` of simulated time; AlterPartition answers delayed.
///
/// Producers write acks=all: a batch is acknowledged when the leader that appended it, still
/// leading in the same leader epoch, has a HW past it with enough in-sync replicas (Kafka's
/// `checkEnoughReplicasReachOffset`). Invariants, checked as the run goes and at the end:
/// every acknowledged record is at its offset in the current leader's log; below the smaller
/// of two brokers' high watermarks their logs hold the same records (no offset ever holds two
/// values); HW <= LEO, and a broker's HW never goes back within one incarnation. After the
/// chaos: everything heals and must converge (ISR = all three, equal logs) within a bound.
final class ReplicationSimulation {
    static let topic = "sim"
    static let tp = TopicPartition(topic, 0)
    let topicID: TopicID

    final class Node {
        let id: Int32
        let fs = SimulatedFileSystem()
        var replicas: ReplicaManager?
        var fetcher: ReplicaFetcher?
        var epoch: Int64
        var incarnation = 0
        var alive = true
        /// Cannot hear the controller (no metadata, its AlterPartitions are lost).
        var controllerCut = false
        var lastImage: MetadataImage?
        /// Highest HW seen in this incarnation.
        var maxHighWatermark: Int64 = 0
        init(id: Int32, epoch: Int64) { self.id = id; self.epoch = epoch }
        var partition: Partition? { alive ? replicas?.partition(ReplicationSimulation.tp) : nil }
    }

    /// An AlterPartition on its way to the controller.
    struct AlterItem {
        var node: Int32
        var incarnation: Int
        var epoch: Int64
        var item: AlterPartitionManager.Item
    }

    /// Queues ISR proposals for the simulation to deliver (a broker's AlterPartitionManager).
    final class Submitter: AlterPartitionSubmitter, @unchecked Sendable {
        weak var sim: ReplicationSimulation?
        let node: Int32
        let incarnation: Int
        init(sim: ReplicationSimulation, node: Int32, incarnation: Int) { self.sim = sim; self.node = node; self.incarnation = incarnation }
        func submit(_ change: PendingIsrChange, partition: Int32, completion: @escaping @Sendable (AlterPartitionResult) -> Void) {
            guard let sim, let n = sim.nodes[node] else { return }
            sim.alters.append(AlterItem(node: node, incarnation: incarnation, epoch: n.epoch,
                                        item: .init(change: change, partition: partition, completion: completion)))
        }
    }

    struct PendingAck {
        var node: Int32
        var incarnation: Int
        var leaderEpoch: Int32
        var baseOffset: Int64
        var values: [String]
    }

    struct DelayedFetch {
        var follower: Int32
        var incarnation: Int
        var entry: ReplicaFetchEntry
        var response: FetchResponse
        var leaderEnd: Int64
        var leaderStart: Int64
    }

    let seed: UInt64
    var rng: SeededRandom
    let clock = ManualLogClock()
    var image: MetadataImage
    var nodes: [Int32: Node] = [:]
    var alters: [AlterItem] = []
    var pendingAcks: [PendingAck] = []
    var delayedFetches: [DelayedFetch] = []
    /// Data links that are down (follower, leader) pairs, both directions.
    var cutLinks: Set<[Int32]> = []
    /// Acknowledged records: offset -> value.
    var acked: [Int64: String] = [:]
    var nextValue = 0
    var trace: [String] = []
    var stats = (produced: 0, acked: 0, fetches: 0, truncations: 0, elections: 0, faults: 0)
    private let logger = Logger(label: "replication-sim") { _ in SwiftLogNoOpLogHandler() }

    struct Clock: BrokerClock {
        let log: ManualLogClock
        func nowMs() -> Int64 { log.milliseconds() }
        func sleep(ms: Int64) async { await Task.yield() }
    }

    final class LogProvider: PartitionLogProvider, @unchecked Sendable {
        let fs: SimulatedFileSystem
        let clock: ManualLogClock
        let root: String
        init(fs: SimulatedFileSystem, clock: ManualLogClock, root: String) { self.fs = fs; self.clock = clock; self.root = root }
        func openLog(topic: String, partition: Int32, config: LogConfig) throws -> PartitionLog {
            try PartitionLog(directory: "\(root)/\(topic)-\(partition)", topic: topic, partition: partition, config: config,
                             fileSystem: fs, clock: clock)
        }
        func removeLog(topic: String, partition: Int32) throws {}
    }

    init(seed: UInt64) throws {
        self.seed = seed
        rng = SeededRandom(seed: seed)
        topicID = KafkaUUID(mostSignificantBits: seed | 1, leastSignificantBits: 7)
        image = MetadataImage(clusterId: "sim", controllerId: 1000)
        for id: Int32 in 1...3 {
            let node = Node(id: id, epoch: Int64(id))
            nodes[id] = node
            image.apply(.registerBroker(BrokerRegistration(id: id, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9000 + id)],
                                                           rack: nil, fenced: false, epoch: node.epoch)))
        }
        image.apply(.topic(name: Self.topic, id: topicID))
        image.apply(.partition(topicID: topicID, PartitionRegistration(partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1,
                                                                       leaderEpoch: 0, partitionEpoch: 0)))
        for id: Int32 in 1...3 { try start(nodes[id]!) }
        publish()
    }

    var registration: PartitionRegistration { image.partition(Self.topic, 0)! }

    func log(_ line: @autoclosure () -> String) {
        trace.append("t=\(clock.milliseconds() - 1_700_000_000_000) \(line())")
        if trace.count > 400 { trace.removeFirst(100) }
    }

    // MARK: Brokers

    private func start(_ node: Node) throws {
        let config = try BrokerConfig(properties: PropertiesFile(parsing: """
            node.id=\(node.id)
            listeners=PLAINTEXT://127.0.0.1:\(9000 + node.id)
            log.dirs=/broker\(node.id)
            min.insync.replicas=2
            replica.lag.time.max.ms=3000
            """))
        let replicas = ReplicaManager(nodeId: node.id, logs: LogProvider(fs: node.fs, clock: clock, root: "/broker\(node.id)"),
                                      config: config, logger: logger)
        let epoch = node.epoch
        replicas.enableReplication(replicaLagTimeMaxMs: 3000, clock: Clock(log: clock),
                                   sender: Submitter(sim: self, node: node.id, incarnation: node.incarnation),
                                   localBrokerEpoch: { epoch })
        node.replicas = replicas
        node.fetcher = try ReplicaFetcher(sourceBroker: -1, endpoint: FetcherEndpoint(host: "127.0.0.1", port: 1), nodeId: node.id,
                                          replicas: replicas, settings: ReplicaFetchSettings(), clock: Clock(log: clock),
                                          logger: logger)
        node.lastImage = nil
        node.maxHighWatermark = 0
    }

    /// Every broker that hears the controller applies the current image.
    func publish() {
        for id in nodes.keys.sorted() {
            let n = nodes[id]!
            guard n.alive, !n.controllerCut, let replicas = n.replicas, n.lastImage != image else { continue }
            _ = replicas.apply(old: n.lastImage, new: image)
            n.lastImage = image
        }
    }

    func commit(_ records: [MetadataRecord]) {
        guard !records.isEmpty else { return }
        let before = registration
        for r in records { image.apply(r) }
        let after = registration
        if after.leader != before.leader || after.leaderEpoch != before.leaderEpoch {
            stats.elections += 1
            log("controller: leader \(before.leader) -> \(after.leader) epoch \(after.leaderEpoch) isr \(after.isr)")
        } else if after.isr != before.isr {
            log("controller: isr \(before.isr) -> \(after.isr) (partition epoch \(after.partitionEpoch))")
        }
        publish()
    }

    func kill(_ node: Node, powerLoss: Bool) {
        log("kill -9 broker \(node.id)\(powerLoss ? " with power loss" : "")")
        node.alive = false
        node.replicas = nil
        node.fetcher = nil
        if powerLoss { node.fs.powerLoss(&rng) }
        // The controller fences it when its session expires.
        commit(ClusterControl.fencingRecords(node.id, image: image))
    }

    func restart(_ node: Node) throws {
        node.alive = true
        node.controllerCut = false
        node.incarnation += 1
        node.epoch += 10
        log("restart broker \(node.id) (broker epoch \(node.epoch))")
        try start(node)
        if var b = image.brokers[node.id] { b.epoch = node.epoch; b.fenced = true; image.apply(.registerBroker(b)) }
        publish()
        commit(ClusterControl.unfencingRecords(node.id, image: image))
    }

    // MARK: Data path

    /// One follower round trip against the broker it believes leads, answered now or later.
    func fetch(_ follower: Node, delay: Bool) {
        guard let fp = follower.partition, !fp.isLeader else { return }
        let leaderId = fp.leadership.leader
        guard leaderId >= 0, let leader = nodes[leaderId], let lp = leader.partition,
              !cutLinks.contains([min(follower.id, leaderId), max(follower.id, leaderId)]) else { return }
        stats.fetches += 1
        let entry = ReplicaFetchEntry(topicPartition: Self.tp, currentLeaderEpoch: fp.leadership.leaderEpoch,
                                      fetchOffset: fp.logEndOffset, lastFetchedEpoch: fp.log.latestEpoch ?? -1,
                                      logStartOffset: fp.logStartOffset)
        // The Fetch handler's follower branch (01-Fetch.swift) on the leader's partition.
        var pd = FetchResponse.PartitionData()
        pd.partitionIndex = 0
        pd.records = ByteBuffer()
        do throws(PartitionError) {
            let read = try lp.readForFollower(replicaId: follower.id, fetchOffset: entry.fetchOffset,
                                              currentLeaderEpoch: entry.currentLeaderEpoch, lastFetchedEpoch: entry.lastFetchedEpoch,
                                              maxBytes: Int.random(in: 100...20_000, using: &rng), minOneBatch: true)
            switch read {
            case let .diverging(epoch, endOffset):
                pd.divergingEpoch.epoch = epoch
                pd.divergingEpoch.endOffset = endOffset
            case .records(let result):
                lp.updateFollowerFetchState(replicaId: follower.id, fetchOffset: entry.fetchOffset, brokerEpoch: follower.epoch,
                                            nowMs: clock.milliseconds())
                if result.length > 0 {
                    do { pd.records = try result.readBytes() } catch { pd.errorCode = ErrorCode.kafkaStorageError.rawValue }
                }
            }
            pd.highWatermark = lp.highWatermark
            pd.logStartOffset = lp.logStartOffset
        } catch {
            pd.errorCode = error.code
            log("fetch \(follower.id) <- \(leader.id): \(error)")
        }
        var response = FetchResponse()
        response.responses = [.init(topic: Self.topic, partitions: [pd])]
        let delayed = DelayedFetch(follower: follower.id, incarnation: follower.incarnation, entry: entry, response: response,
                                   leaderEnd: lp.logEndOffset, leaderStart: lp.logStartOffset)
        if delay { delayedFetches.append(delayed) } else { apply(delayed) }
    }

    /// The follower's fetcher applies an answer, perhaps late and after newer ones (the real
    /// fetcher has one fetch in flight per leader; an overtaken answer is what its fetch-offset
    /// and epoch checks must refuse).
    func apply(_ d: DelayedFetch) {
        guard let node = nodes[d.follower], node.incarnation == d.incarnation, let fp = node.partition,
              let fetcher = node.fetcher else { return }
        fetcher.update(endpoint: FetcherEndpoint(host: "127.0.0.1", port: 1), partitions: [Self.tp: fp.leadership.leaderEpoch])
        let before = fp.logEndOffset
        let done = DispatchSemaphore(value: 0)
        Task {
            _ = await fetcher.applyRound(d.response, entries: [d.entry]) { _, timestamp, _ in
                timestamp == -1 ? d.leaderEnd : d.leaderStart
            }
            done.signal()
        }
        done.wait()
        if fp.logEndOffset < before {
            stats.truncations += 1
            log("broker \(node.id) truncated \(before) -> \(fp.logEndOffset)")
        }
    }

    func produce() {
        let reg = registration
        guard reg.leader >= 0, let leader = nodes[reg.leader], let p = leader.partition, p.isLeader else { return }
        let values = (0..<Int.random(in: 1...3, using: &rng)).map { _ -> String in nextValue += 1; return "v\(nextValue)" }
        do {
            let batch = try BrokerHarness.batch(values, timestamp: clock.milliseconds())
            let header = try RecordBatchHeader.peek(batch, at: batch.readerIndex)
            let result = try p.appendAsLeader(batch, header: header, requiredAcks: -1)
            stats.produced += values.count
            pendingAcks.append(PendingAck(node: leader.id, incarnation: leader.incarnation, leaderEpoch: p.leadership.leaderEpoch,
                                          baseOffset: result.baseOffset, values: values))
        } catch {
            // NOT_ENOUGH_REPLICAS and the like: the producer retries later.
        }
    }

    /// Acknowledges the acks=all writes whose condition holds; drops those that can no longer
    /// be acknowledged (leadership lost, or appended but too few in-sync replicas).
    func completeAcks() {
        pendingAcks.removeAll { a in
            guard let n = nodes[a.node], n.incarnation == a.incarnation, let p = n.partition, p.isLeader,
                  p.leadership.leaderEpoch == a.leaderEpoch else { return true }
            let required = a.baseOffset + Int64(a.values.count)
            switch p.isrSnapshot.acksOutcome(requiredOffset: required, highWatermark: p.highWatermark,
                                             minInsyncReplicas: p.minInsyncReplicas) {
            case nil:
                return false
            case .some(ErrorCode.none):
                for (i, v) in a.values.enumerated() { acked[a.baseOffset + Int64(i)] = v }
                stats.acked += a.values.count
                return true
            case .some:
                return true
            }
        }
    }

    /// The controller answers the oldest AlterPartition (or it is lost with its broker).
    func deliverAlter() {
        guard !alters.isEmpty else { return }
        let a = alters.removeFirst()
        guard let n = nodes[a.node], n.alive, n.incarnation == a.incarnation else { return }
        if n.controllerCut {
            a.item.completion(.failure(.requestTimedOut))
            return
        }
        let key = AlterPartitionManager.Key(topicID: a.item.change.topicID, partition: a.item.partition)
        let request = AlterPartitionManager.request(brokerId: a.node, brokerEpoch: a.epoch, items: [a.item], version: 3)
        let outcome = AlterPartitionControl.alterPartition(request, version: 3, image: image)
        commit(outcome.records)
        for (_, result) in AlterPartitionManager.results(outcome.response, for: [(key, a.item)]) { a.item.completion(result) }
    }

    // MARK: Checker

    func fail(_ message: String) -> Never {
        let tail = trace.suffix(80).joined(separator: "\n")
        fatalError("replication simulation seed \(seed): \(message)\nreplay: SAMSA_REPL_SEED=\(seed) swift test --filter ReplicationSimulationTests/testReplaySeed\n\(tail)")
    }

    func records(_ p: Partition) -> [(Int64, String)] {
        do {
            let bytes = try p.log.read(from: p.logStartOffset, maxBytes: Int.max, maxOffset: nil, minOneBatch: true).readBytes()
            return try BrokerHarness.values(bytes)
        } catch {
            fail("cannot read broker log: \(error)")
        }
    }

    func checkSteadyInvariants() {
        for id in nodes.keys.sorted() {
            let n = nodes[id]!
            guard let p = n.partition else { continue }
            let hw = p.highWatermark
            if hw > p.logEndOffset { fail("broker \(id): HW \(hw) above LEO \(p.logEndOffset)") }
            if hw < n.maxHighWatermark { fail("broker \(id): HW went back \(n.maxHighWatermark) -> \(hw)") }
            n.maxHighWatermark = hw
        }
    }

    func checkData() {
        let reg = registration
        if reg.leader >= 0, let leader = nodes[reg.leader], let lp = leader.partition, lp.isLeader {
            let have = Dictionary(records(lp), uniquingKeysWith: { a, _ in a })
            for (offset, value) in acked.sorted(by: { $0.key < $1.key }) where have[offset] != value {
                fail("acknowledged record \(value) at offset \(offset) is \(have[offset] ?? "missing") on leader \(leader.id) (epoch \(reg.leaderEpoch))")
            }
        }
        let live = nodes.keys.sorted().compactMap { id in nodes[id]!.partition.map { (id, $0) } }
        for i in 0..<live.count {
            for j in (i + 1)..<live.count {
                let bound = min(live[i].1.highWatermark, live[j].1.highWatermark)
                let a = records(live[i].1).filter { $0.0 < bound }
                let b = records(live[j].1).filter { $0.0 < bound }
                if a.map(\.0) != b.map(\.0) || a.map(\.1) != b.map(\.1) {
                    fail("brokers \(live[i].0) and \(live[j].0) differ below HW \(bound)")
                }
            }
        }
    }

    // MARK: Run

    func step() throws {
        let roll = Int.random(in: 0..<100, using: &rng)
        let live = nodes.keys.sorted().filter { nodes[$0]!.alive }
        switch roll {
        case 0..<25:
            produce()
        case 25..<60:
            if let id = live.randomElement(using: &rng) { fetch(nodes[id]!, delay: Int.random(in: 0..<8, using: &rng) == 0) }
        case 60..<64:
            if !delayedFetches.isEmpty {
                apply(delayedFetches.remove(at: Int.random(in: 0..<delayedFetches.count, using: &rng)))
            }
        case 64..<74:
            deliverAlter()
        case 74..<78:
            for id in live { nodes[id]!.partition?.maybeShrinkIsr() }
        case 78..<95:
            clock.advance(byMilliseconds: Int64.random(in: 10...400, using: &rng))
        default:
            try fault()
        }
        completeAcks()
        checkSteadyInvariants()
    }

    func fault() throws {
        stats.faults += 1
        let ids = nodes.keys.sorted()
        let dead = ids.filter { !nodes[$0]!.alive }
        switch Int.random(in: 0..<8, using: &rng) {
        case 0, 1:
            // kill -9 (at most two down): the leader half of the time.
            guard dead.count < 2 else { return try restart(nodes[dead.randomElement(using: &rng)!]!) }
            let reg = registration
            let victim = reg.leader >= 0 && Bool.random(using: &rng) ? reg.leader : ids.filter { nodes[$0]!.alive }.randomElement(using: &rng)!
            kill(nodes[victim]!, powerLoss: dead.isEmpty && Int.random(in: 0..<3, using: &rng) == 0)
        case 2:
            if let id = dead.randomElement(using: &rng) { try restart(nodes[id]!) }
        case 3:
            let a = ids.randomElement(using: &rng)!, b = ids.filter { $0 != a }.randomElement(using: &rng)!
            cutLinks.insert([min(a, b), max(a, b)])
            log("data link \(a)-\(b) cut")
        case 4:
            // A broker loses the controller: fenced, while it may still think it leads.
            let candidates = ids.filter { nodes[$0]!.alive && !nodes[$0]!.controllerCut }
            guard dead.isEmpty, let id = candidates.randomElement(using: &rng) else { return }
            nodes[id]!.controllerCut = true
            log("broker \(id) cut off from the controller")
            commit(ClusterControl.fencingRecords(id, image: image))
        case 5:
            // The whole cluster loses power at once, then comes back: acknowledged records
            // survive only because every ISR member fsynced them (the follower fsync policy).
            guard dead.isEmpty, Int.random(in: 0..<3, using: &rng) == 0 else { return heal() }
            log("power loss of the whole cluster")
            for id in ids { kill(nodes[id]!, powerLoss: true) }
            for id in ids.shuffled(using: &rng) { try restart(nodes[id]!) }
        default:
            heal()
        }
    }

    func heal() {
        if !cutLinks.isEmpty { log("data links healed") }
        cutLinks = []
        for id in nodes.keys.sorted() where nodes[id]!.alive && nodes[id]!.controllerCut {
            nodes[id]!.controllerCut = false
            log("broker \(id) hears the controller again")
            publish()
            commit(ClusterControl.unfencingRecords(id, image: image))
        }
    }

    /// Chaos for `steps`, then heal and require convergence within `settleSteps`.
    func run(steps: Int, settleSteps: Int = 3000) throws {
        for i in 0..<steps {
            try step()
            if i % 25 == 0 { checkData() }
        }
        checkData()
        // Heal: everyone up, every link and the controller back.
        heal()
        for id in nodes.keys.sorted() where !nodes[id]!.alive { try restart(nodes[id]!) }
        delayedFetches = []
        for _ in 0..<settleSteps {
            for id in nodes.keys.sorted() { fetch(nodes[id]!, delay: false) }
            while !alters.isEmpty { deliverAlter() }
            clock.advance(byMilliseconds: 50)
            completeAcks()
            checkSteadyInvariants()
            if converged() { break }
        }
        guard converged() else {
            let reg = registration
            for id in nodes.keys.sorted() {
                let n = nodes[id]!
                log("broker \(id): alive \(n.alive) cut \(n.controllerCut) leadership \(String(describing: n.partition?.leadership)) epochs \(String(describing: n.partition?.log.leaderEpochEntries))")
            }
            fail("did not converge: leader \(reg.leader) isr \(reg.isr), LEOs \(nodes.keys.sorted().map { nodes[$0]!.partition?.logEndOffset ?? -1 }), HWs \(nodes.keys.sorted().map { nodes[$0]!.partition?.highWatermark ?? -1 })")
        }
        checkData()
        // Every broker holds every acknowledged record at its offset.
        for id in nodes.keys.sorted() {
            let have = Dictionary(records(nodes[id]!.partition!), uniquingKeysWith: { a, _ in a })
            for (offset, value) in acked where have[offset] != value {
                fail("after healing, broker \(id) has \(have[offset] ?? "nothing") at offset \(offset), acknowledged \(value)")
            }
        }
    }

    func converged() -> Bool {
        let reg = registration
        guard reg.leader >= 0, reg.isr.sorted() == [1, 2, 3], let lp = nodes[reg.leader]?.partition else { return false }
        let end = lp.logEndOffset
        return nodes.values.allSatisfy { $0.partition?.logEndOffset == end && $0.partition?.highWatermark == end }
    }
}
