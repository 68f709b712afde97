import XCTest
@testable import Broker
import KafkaProtocol
import Quorum

/// A metadata log for the pure controller: records appended at consecutive offsets, the image
/// following them (so `image.recordCount` is the next write offset, as in MetadataStore).
struct TestMetadataLog {
    var image: MetadataImage
    init(clusterId: String = "cluster-A") { image = MetadataImage(clusterId: clusterId, controllerId: 100) }
    var nextOffset: Int64 { image.recordCount }
    mutating func append(_ records: [MetadataRecord]) { for r in records { image.apply(r) } }
}

/// A seeded SplitMix64, so placements and random scenarios replay exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The controller's cluster logic (issue 11 item 5) with an injected clock: registration,
/// heartbeats, fencing after the session timeout, unfencing, controlled shutdown, and the
/// leader/ISR changes, against Kafka's rules.
final class ClusterControlTests: XCTestCase {
    let session: Int64 = 9000
    var log = TestMetadataLog()
    var control = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: 9000)
    var topicCount: UInt64 = 0

    override func setUp() {
        log = TestMetadataLog()
        control = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: session)
    }

    static func incarnation(_ id: Int32, _ n: UInt64 = 0) -> KafkaUUID {
        KafkaUUID(mostSignificantBits: UInt64(id) + 1000, leastSignificantBits: n + 7)
    }

    func registration(_ id: Int32, incarnation: KafkaUUID? = nil, cluster: String = "cluster-A", rack: String? = nil) -> BrokerRegistrationRequest {
        var r = BrokerRegistrationRequest()
        r.brokerId = id
        r.clusterId = cluster
        r.incarnationId = incarnation ?? Self.incarnation(id)
        r.listeners = [.init(name: "PLAINTEXT", host: "h\(id)", port: 9092, securityProtocol: 0)]
        r.rack = rack
        return r
    }

    @discardableResult
    func register(_ id: Int32, incarnation: KafkaUUID? = nil, rack: String? = nil, now: Int64) -> ClusterControl.Outcome<BrokerRegistrationResponse> {
        let out = control.register(registration(id, incarnation: incarnation, rack: rack), image: log.image, nextWriteOffset: log.nextOffset, now: now)
        log.append(out.records)
        return out
    }

    @discardableResult
    func heartbeat(_ id: Int32, offset: Int64? = nil, wantFence: Bool = false, wantShutDown: Bool = false, epoch: Int64? = nil,
                   now: Int64) -> ClusterControl.Outcome<BrokerHeartbeatResponse> {
        let request = BrokerHeartbeatRequest(brokerId: id, brokerEpoch: epoch ?? log.image.brokers[id]?.epoch ?? -1,
                                             currentMetadataOffset: offset ?? (log.nextOffset - 1),
                                             wantFence: wantFence, wantShutDown: wantShutDown)
        let out = control.heartbeat(request, image: log.image, nextWriteOffset: log.nextOffset, now: now)
        log.append(out.records)
        return out
    }

    /// Registers and unfences brokers `ids` at `now`.
    func liveBrokers(_ ids: [Int32], racks: [Int32: String] = [:], now: Int64 = 0) {
        for id in ids { register(id, rack: racks[id], now: now) }
        for id in ids { XCTAssertFalse(heartbeat(id, now: now).reply.isFenced) }
    }

    /// A topic with explicit assignments, ISR = replicas, leader = first replica.
    func topic(_ name: String, _ assignments: [[Int32]]) -> TopicID {
        topicCount += 1
        let id = KafkaUUID(mostSignificantBits: 77, leastSignificantBits: 1000 + topicCount)
        var records: [MetadataRecord] = [.topic(name: name, id: id)]
        for (i, replicas) in assignments.enumerated() {
            records.append(.partition(topicID: id, PartitionRegistration(partition: Int32(i), replicas: replicas, isr: replicas,
                                                                         leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0)))
        }
        log.append(records)
        return id
    }

    /// Kafka's partition invariants, checked after every step of the scenario tests.
    func assertInvariants(file: StaticString = #filePath, line: UInt = #line) {
        for t in log.image.topics.values {
            for p in t.partitions {
                XCTAssertFalse(p.isr.isEmpty, "\(t.name)-\(p.partition): the ISR never empties without ELR", file: file, line: line)
                XCTAssertTrue(Set(p.isr).isSubset(of: p.replicas), "\(t.name)-\(p.partition): ISR within replicas", file: file, line: line)
                if p.leader >= 0 {
                    XCTAssertTrue(p.isr.contains(p.leader), "\(t.name)-\(p.partition): leader \(p.leader) in ISR \(p.isr)", file: file, line: line)
                    XCTAssertTrue(ClusterControl.isActive(p.leader, image: log.image),
                                  "\(t.name)-\(p.partition): leader \(p.leader) is active", file: file, line: line)
                } else {
                    XCTAssertFalse(p.isr.contains { ClusterControl.isActive($0, image: log.image) },
                                   "\(t.name)-\(p.partition): leaderless although an ISR member \(p.isr) is active", file: file, line: line)
                }
            }
        }
    }

    // MARK: Registration

    func testNewBrokerStartsFencedWithTheRecordOffsetAsEpoch() {
        log.append([.noOp, .noOp, .noOp])
        let out = register(1, now: 0)
        XCTAssertEqual(out.reply.errorCode, 0)
        XCTAssertEqual(out.reply.brokerEpoch, 3, "the broker epoch is the offset of its RegisterBrokerRecord")
        guard case .registerBroker(let b) = out.records.first else { return XCTFail("\(out.records)") }
        XCTAssertEqual(out.records.count, 1)
        XCTAssertTrue(b.fenced)
        XCTAssertEqual(b.epoch, 3)
        XCTAssertEqual(b.incarnationId, Self.incarnation(1))
        XCTAssertEqual(b.endpoints, [BrokerEndpoint(listener: "PLAINTEXT", host: "h1", port: 9092)])
        XCTAssertEqual(log.image.brokers[1]?.epoch, 3)
    }

    func testInconsistentClusterId() {
        let out = control.register(registration(1, cluster: "other"), image: log.image, nextWriteOffset: 0, now: 0)
        XCTAssertEqual(out.reply.errorCode, ErrorCode.inconsistentClusterId.rawValue)
        XCTAssertEqual(out.records, [])
        XCTAssertEqual(out.errorMessage, "Expected cluster ID cluster-A, but got cluster ID other")
    }

    func testDuplicateRegistrationWhileTheSessionLivesThenReRegistrationAfterRestart() {
        liveBrokers([1])
        let oldEpoch = log.image.brokers[1]!.epoch
        // A second process with the same node id while the first one's session lives.
        let dup = register(1, incarnation: Self.incarnation(1, 99), now: 5000)
        XCTAssertEqual(dup.reply.errorCode, ErrorCode.duplicateBrokerRegistration.rawValue)
        XCTAssertEqual(dup.records, [])
        XCTAssertEqual(log.image.brokers[1]?.epoch, oldEpoch)
        // The old process died: its session expires, it is fenced, the new one registers.
        let fenced = control.fenceExpiredSessions(image: log.image, now: session + 1)
        log.append(fenced)
        XCTAssertEqual(log.image.brokers[1]?.fenced, true)
        let again = register(1, incarnation: Self.incarnation(1, 99), now: session + 2)
        XCTAssertEqual(again.reply.errorCode, 0)
        XCTAssertGreaterThan(again.reply.brokerEpoch, oldEpoch)
        XCTAssertEqual(log.image.brokers[1]?.incarnationId, Self.incarnation(1, 99))
        XCTAssertEqual(log.image.brokers[1]?.fenced, true, "a new incarnation starts fenced")
    }

    func testSameIncarnationRetryKeepsFencingState() {
        liveBrokers([1])
        let retry = register(1, now: 100)
        XCTAssertEqual(retry.reply.errorCode, 0)
        XCTAssertEqual(log.image.brokers[1]?.fenced, false, "a retried registration of the same process keeps it unfenced")
        XCTAssertEqual(log.image.brokers[1]?.epoch, retry.reply.brokerEpoch)
    }

    func testUnsupportedFinalizedFeature() {
        log.append([.featureLevel(name: "metadata.version", level: 25)])
        var r = registration(1)
        XCTAssertEqual(control.register(r, image: log.image, nextWriteOffset: 1, now: 0).reply.errorCode, ErrorCode.unsupportedVersion.rawValue)
        r.features = [.init(name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 25)]
        XCTAssertEqual(control.register(r, image: log.image, nextWriteOffset: 1, now: 0).reply.errorCode, 0)
    }

    // MARK: Heartbeats

    func testStaleBrokerEpochAndUnknownBroker() {
        register(1, now: 0)
        let stale = heartbeat(1, epoch: 77, now: 1)
        XCTAssertEqual(stale.reply.errorCode, ErrorCode.staleBrokerEpoch.rawValue)
        XCTAssertEqual(stale.errorMessage, "Expected broker epoch 0, but got broker epoch 77")
        let unknown = heartbeat(9, epoch: 0, now: 1)
        XCTAssertEqual(unknown.reply.errorCode, ErrorCode.staleBrokerEpoch.rawValue)
        XCTAssertEqual(unknown.records, [])
    }

    func testUnfencedOnlyOnceCaughtUpToItsRegistration() {
        log.append([.noOp, .noOp])
        register(1, now: 0)                                   // epoch 2
        let behind = heartbeat(1, offset: 1, now: 10)
        XCTAssertEqual(behind.reply.errorCode, 0)
        XCTAssertFalse(behind.reply.isCaughtUp)
        XCTAssertTrue(behind.reply.isFenced)
        XCTAssertEqual(behind.records, [])
        let wantsFence = heartbeat(1, offset: 2, wantFence: true, now: 20)
        XCTAssertTrue(wantsFence.reply.isCaughtUp)
        XCTAssertTrue(wantsFence.reply.isFenced, "recovering brokers ask to stay fenced")
        let ready = heartbeat(1, offset: 2, now: 30)
        XCTAssertTrue(ready.reply.isCaughtUp)
        XCTAssertFalse(ready.reply.isFenced)
        XCTAssertFalse(ready.reply.shouldShutDown)
        XCTAssertEqual(ready.records, [.brokerRegistrationChange(id: 1, epoch: 2, fenced: false, inControlledShutdown: nil)])
        XCTAssertEqual(log.image.brokers[1]?.fenced, false)
    }

    func testHeartbeatsKeepTheSessionAlive() {
        liveBrokers([1, 2])
        var now: Int64 = 0
        while now < 60_000 {
            now += 2000
            heartbeat(1, now: now)
            log.append(control.fenceExpiredSessions(image: log.image, now: now))
        }
        XCTAssertEqual(log.image.brokers[1]?.fenced, false, "heartbeating every 2 s keeps broker 1")
        XCTAssertEqual(log.image.brokers[2]?.fenced, true, "silent broker 2 was fenced")
        XCTAssertEqual(control.nextSessionExpiry(image: log.image), now + session + 1)
    }

    // MARK: Session expiry and leader election

    func testSessionExpiryFencesAndElectsNewLeadersFromTheIsr() {
        liveBrokers([1, 2, 3])
        let t = topic("orders", [[1, 2, 3], [2, 1, 3], [1, 3, 2], [3, 2, 1], [1]])
        heartbeat(2, now: 5000); heartbeat(3, now: 5000)
        XCTAssertEqual(control.fenceExpiredSessions(image: log.image, now: session), [], "not yet: the session is inclusive")
        let records = control.fenceExpiredSessions(image: log.image, now: session + 1)
        XCTAssertEqual(records, [
            .partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2, 3])),
            .partitionChange(PartitionChange(topicID: t, partition: 1, isr: [2, 3])),
            .partitionChange(PartitionChange(topicID: t, partition: 2, leader: 3, isr: [3, 2])),
            .partitionChange(PartitionChange(topicID: t, partition: 3, isr: [3, 2])),
            .partitionChange(PartitionChange(topicID: t, partition: 4, leader: -1)),
            .brokerRegistrationChange(id: 1, epoch: 0, fenced: true, inControlledShutdown: nil),
        ])
        log.append(records)
        let p = log.image.topics["orders"]!.partitions
        XCTAssertEqual(p[0].leaderEpoch, 1, "a leader change bumps the leader epoch")
        XCTAssertEqual(p[1].leaderEpoch, 0, "an ISR shrink alone does not")
        XCTAssertEqual(p[1].partitionEpoch, 1, "every change bumps the partition epoch")
        XCTAssertEqual(p[4].isr, [1], "the last ISR member stays in the ISR; the partition waits for it (no unclean election)")
        assertInvariants()

        // Broker 1 restarts: a new incarnation registers, catches up, is unfenced, and takes
        // back the partition only it can lead.
        register(1, incarnation: Self.incarnation(1, 2), now: 20_000)
        let unfence = heartbeat(1, now: 20_001)
        XCTAssertFalse(unfence.reply.isFenced)
        XCTAssertEqual(unfence.records.last, .partitionChange(PartitionChange(topicID: t, partition: 4, leader: 1)))
        XCTAssertEqual(log.image.topics["orders"]!.partitions[4].leader, 1)
        XCTAssertEqual(log.image.topics["orders"]!.partitions[0].leader, 2, "leaders elsewhere do not move back")
        assertInvariants()
    }

    func testEveryReplicaFencedLeavesNoLeaderAndTheLastIsrMember() {
        liveBrokers([1, 2])
        _ = topic("t", [[1, 2]])
        log.append(control.fenceExpiredSessions(image: log.image, now: session + 1))
        let p = log.image.topics["t"]!.partitions[0]
        XCTAssertEqual(p.leader, -1)
        XCTAssertEqual(p.isr.count, 1, "one fencing after the other: the ISR keeps its last member")
        XCTAssertEqual(log.image.brokers.values.filter(\.fenced).count, 2)
        assertInvariants()
    }

    func testWantFenceFromAnUnfencedBroker() {
        liveBrokers([1, 2])
        _ = topic("t", [[1, 2]])
        let out = heartbeat(1, wantFence: true, now: 100)
        XCTAssertTrue(out.reply.isFenced)
        XCTAssertEqual(log.image.topics["t"]!.partitions[0].leader, 2)
        assertInvariants()
    }

    // MARK: Controlled shutdown

    func testControlledShutdownOfTheLeaderOfManyPartitions() {
        liveBrokers([1, 2, 3])
        let assignments = (0..<60).map { i -> [Int32] in [1, Int32(2 + i % 2), Int32(3 - i % 2)] }
        _ = topic("big", assignments)
        _ = topic("solo", [[1]])
        let batchStart = log.nextOffset
        let first = heartbeat(1, wantShutDown: true, now: 1000)
        XCTAssertEqual(first.reply.errorCode, 0)
        XCTAssertFalse(first.reply.isFenced)
        XCTAssertFalse(first.reply.shouldShutDown, "other brokers have not seen the new leaders yet")
        XCTAssertEqual(first.records.first, .brokerRegistrationChange(id: 1, epoch: log.image.brokers[1]!.epoch, fenced: nil, inControlledShutdown: true))
        XCTAssertEqual(first.records.count, 1 + 60 + 1, "every partition of `big` moves its leader off broker 1, and `solo` loses its only leader")
        XCTAssertEqual(log.image.topics["big"]!.partitions.filter { $0.leader == 1 }.count, 0)
        XCTAssertEqual(log.image.topics["big"]!.partitions.filter { $0.leader == 2 }.count, 30)
        XCTAssertEqual(log.image.topics["solo"]!.partitions[0].leader, -1, "Kafka's rule: a single-replica partition goes offline until its broker returns")
        XCTAssertEqual(log.image.topics["solo"]!.partitions[0].isr, [1])
        XCTAssertTrue(log.image.topics["big"]!.partitions.allSatisfy { !$0.isr.contains(1) }, "out of every ISR (KIP-841)")
        assertInvariants()

        // It leads nothing now, but the other brokers must first apply the batch that moved
        // the leaders (so clients are redirected before it goes).
        let shutdownOffset = control.sessions[1]!.controlledShutdownOffset
        XCTAssertEqual(shutdownOffset, batchStart + Int64(first.records.count) - 1,
                       "the end offset of the batch that began the shutdown")
        XCTAssertFalse(heartbeat(1, wantShutDown: true, now: 1100).reply.shouldShutDown)
        heartbeat(2, offset: shutdownOffset - 1, now: 1200)
        heartbeat(3, offset: shutdownOffset - 1, now: 1200)
        XCTAssertFalse(heartbeat(1, wantShutDown: true, now: 1300).reply.shouldShutDown, "brokers 2 and 3 are behind the shutdown batch")
        heartbeat(2, offset: shutdownOffset, now: 1400)
        heartbeat(3, offset: shutdownOffset + 5, now: 1400)
        let done = heartbeat(1, wantShutDown: true, now: 1500)
        XCTAssertTrue(done.reply.shouldShutDown)
        XCTAssertTrue(done.reply.isFenced)
        XCTAssertEqual(done.records.last, .brokerRegistrationChange(id: 1, epoch: log.image.brokers[1]!.epoch, fenced: true, inControlledShutdown: nil))
        XCTAssertEqual(log.image.brokers[1]?.fenced, true)
        XCTAssertNil(control.sessions[1], "a fenced broker has no session to expire")
        assertInvariants()
        // The restarted process registers at once: the old one is fenced, so no duplicate.
        XCTAssertEqual(register(1, incarnation: Self.incarnation(1, 3), now: 1600).reply.errorCode, 0)
    }

    func testShutdownOfABrokerThatLeadsNothingIsImmediate() {
        liveBrokers([1, 2])
        _ = topic("t", [[2, 1]])
        let out = heartbeat(1, wantShutDown: true, now: 100)
        XCTAssertTrue(out.reply.shouldShutDown)
        XCTAssertTrue(out.reply.isFenced)
        XCTAssertEqual(log.image.topics["t"]!.partitions[0].isr, [2])
        XCTAssertEqual(log.image.brokers[1]?.fenced, true)
        assertInvariants()
    }

    func testFencedBrokerAskingToShutDownMayGoAtOnce() {
        register(1, now: 0)
        let out = heartbeat(1, offset: -1, wantFence: true, wantShutDown: true, now: 10)
        XCTAssertTrue(out.reply.shouldShutDown)
        XCTAssertTrue(out.reply.isFenced)
    }

    // MARK: Failover

    func testANewActiveControllerGivesEveryUnfencedBrokerAFullSession() {
        liveBrokers([1, 2, 3])
        log.append(control.fenceExpiredSessions(image: log.image, now: 100))
        var successor = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: session)
        successor.activate(image: log.image, now: 50_000)
        XCTAssertEqual(successor.fenceExpiredSessions(image: log.image, now: 50_000 + session), [])
        XCTAssertEqual(successor.sessions.count, 3)
        XCTAssertEqual(successor.fenceExpiredSessions(image: log.image, now: 50_001 + session).count, 3)
    }

    /// Kafka's rule after a full-cluster crash: every broker is still registered unfenced (no
    /// controller was left to fence it); the new active controller treats them as having just
    /// heartbeated, so a restarted broker's new incarnation is refused only until the old
    /// registration's session ran out, then accepted.
    func testAfterFailoverANewIncarnationIsAcceptedOnceTheOldSessionExpired() {
        liveBrokers([1, 2, 3])
        _ = topic("t", [[1, 2, 3]])
        var successor = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: session)
        successor.activate(image: log.image, now: 50_000)
        control = successor
        XCTAssertEqual(register(1, incarnation: Self.incarnation(1, 9), now: 50_000 + session).reply.errorCode,
                       ErrorCode.duplicateBrokerRegistration.rawValue)
        let out = register(1, incarnation: Self.incarnation(1, 9), now: 50_001 + session)
        XCTAssertEqual(out.reply.errorCode, 0)
        XCTAssertEqual(log.image.brokers[1]?.incarnationId, Self.incarnation(1, 9))
        XCTAssertEqual(log.image.brokers[1]?.fenced, true)
        assertInvariants()
    }

    /// A registration the controller has no session for (it was not in the image the
    /// controller activated from) has no valid session (Kafka's `BrokerHeartbeatTracker`): a
    /// new incarnation replaces it. It used to count as valid forever -- nothing expires an
    /// untracked session -- so the restarted broker got DUPLICATE_BROKER_REGISTRATION for good.
    func testAnUnfencedRegistrationWithoutASessionDoesNotBlockANewIncarnation() {
        var successor = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: session)
        successor.activate(image: log.image, now: 0)   // activated from an image without the brokers
        liveBrokers([1, 2])
        control = successor
        XCTAssertFalse(control.hasValidSession(1, image: log.image, now: 1))
        let out = register(1, incarnation: Self.incarnation(1, 3), now: 1)
        XCTAssertEqual(out.reply.errorCode, 0)
        XCTAssertEqual(log.image.brokers[1]?.incarnationId, Self.incarnation(1, 3))
        XCTAssertEqual(log.image.brokers[1]?.fenced, true)
        // The new incarnation has a session of its own, and heartbeats unfence it.
        XCTAssertTrue(heartbeat(1, now: 2).reply.isFenced == false)
        XCTAssertTrue(control.hasValidSession(1, image: log.image, now: 2))
    }

    func testActivationTracksFencedBrokersToo() {
        liveBrokers([1, 2])
        heartbeat(2, wantFence: true, now: 10)
        XCTAssertEqual(log.image.brokers[2]?.fenced, true)
        var successor = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: session)
        successor.activate(image: log.image, now: 100)
        XCTAssertEqual(Set(successor.sessions.keys), [1, 2])
        XCTAssertTrue(successor.hasValidSession(1, image: log.image, now: 100))
        XCTAssertFalse(successor.hasValidSession(2, image: log.image, now: 100), "a fenced broker has no valid session")
    }

    // MARK: Many brokers, random events

    /// Random registrations, heartbeats, crashes, restarts, controlled shutdowns and clock jumps
    /// over 12 brokers in 3 racks and 40 partitions; Kafka's invariants after every step.
    func testRandomScenariosKeepThePartitionInvariants() {
        let seed = UInt64(ProcessInfo.processInfo.environment["SAMSA_CONTROL_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("ClusterControl random scenarios: seed \(seed) (replay with SAMSA_CONTROL_SEED=\(seed))")
        runRandomScenario(seed: seed)
    }

    /// Seed 3380167515263955261 once left partitions led by a fenced broker: a restarted broker's
    /// new incarnation registered after its old session had run out but before any expiry
    /// check fenced it, and the RegisterBrokerRecord (fenced) replaced the unfenced one
    /// without moving its leaderships.
    func testRegressionSeedNewIncarnationOverAnUnfencedRegistration() {
        runRandomScenario(seed: 3_380_167_515_263_955_261)
    }

    func testNewIncarnationTakesOverFromAnExpiredButUnfencedOne() {
        liveBrokers([1, 2])
        let t = topic("t", [[1, 2], [2, 1]])
        heartbeat(2, now: 9500)
        // Broker 1's session ran out at 9000, no expiry check ran; the restarted process registers.
        let out = register(1, incarnation: Self.incarnation(1, 5), now: 9500)
        XCTAssertEqual(out.reply.errorCode, 0)
        XCTAssertEqual(out.reply.brokerEpoch, log.image.brokers[1]!.epoch)
        XCTAssertEqual(Array(out.records.dropFirst()), [
            .partitionChange(PartitionChange(topicID: t, partition: 0, leader: 2, isr: [2])),
            .partitionChange(PartitionChange(topicID: t, partition: 1, isr: [2])),
        ])
        assertInvariants()
    }

    func runRandomScenario(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let ids: [Int32] = Array(1...12)
        let racks = Dictionary(uniqueKeysWithValues: ids.map { ($0, "rack-\($0 % 3)") })
        liveBrokers(ids, racks: racks)
        let placed = try! StripedReplicaPlacer.place(partitions: 40, replicationFactor: 3, brokers: StripedReplicaPlacer.usableBrokers(log.image), random: &rng)
        _ = topic("sim", placed)
        var alive = Set(ids)
        var incarnations = Dictionary(uniqueKeysWithValues: ids.map { ($0, UInt64(0)) })
        var now: Int64 = 0
        var fencings = 0, shutdowns = 0
        for step in 0..<3000 {
            now += Int64.random(in: 1...1500, using: &rng)
            let id = ids.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                alive.remove(id)                                   // crash: stops heartbeating
            case 1 where !alive.contains(id):
                incarnations[id]! += 1                             // restart: a new incarnation
                if register(id, incarnation: Self.incarnation(id, incarnations[id]!), rack: racks[id], now: now).reply.errorCode == 0 {
                    alive.insert(id)
                }
            case 2 where alive.contains(id):
                if heartbeat(id, wantShutDown: true, now: now).reply.shouldShutDown { alive.remove(id); shutdowns += 1 }
            default:
                for b in alive.sorted() where log.image.brokers[b] != nil {
                    let lag = Int64.random(in: 0...3, using: &rng)
                    let out = heartbeat(b, offset: max(-1, log.nextOffset - 1 - lag), wantShutDown: log.image.brokers[b]?.inControlledShutdown == true, now: now)
                    if out.reply.shouldShutDown { alive.remove(b); shutdowns += 1 }
                }
            }
            let fenced = control.fenceExpiredSessions(image: log.image, now: now)
            fencings += fenced.filter { if case .brokerRegistrationChange(_, _, true?, _) = $0 { return true } else { return false } }.count
            log.append(fenced)
            assertInvariants()
            if testRun?.failureCount ?? 0 > 0 { XCTFail("seed \(seed), step \(step)"); return }
        }
        XCTAssertGreaterThan(fencings, 0, "the scenario fenced brokers (or it proves little)")
        XCTAssertGreaterThan(shutdowns, 0, "the scenario shut brokers down")
    }
}

/// When a quorum leader may act as the active controller (`ClusterRuntime`'s loop and every
/// controller handler): only once it has applied its epoch's LeaderChange (so everything earlier
/// leaders committed), and only in the epoch it activated in. It used to act as soon as it was
/// elected, on whatever its image held then (after a full-cluster restart: the snapshot), so
/// brokers unfenced in the committed log got no session.
final class ControllerActivationTests: XCTestCase {
    func leader(epoch: Int32, start: Int64?, hw: Int64 = 0) -> QuorumLeadership {
        QuorumLeadership(leaderId: 1, epoch: epoch, highWatermark: hw, isLocalLeader: true, epochStartOffset: start)
    }

    func testCaughtUpOnlyPastTheEpochStartOffset() {
        // Elected with log end 40 while the image (from a snapshot) stops at 12; the HW this node
        // knew (12) says nothing about what earlier leaders committed.
        let l = leader(epoch: 7, start: 40, hw: 12)
        XCTAssertFalse(ControllerActivation.caughtUp(l, appliedOffset: 12))
        XCTAssertFalse(ControllerActivation.caughtUp(l, appliedOffset: 40), "the LeaderChange at 40 is not applied yet")
        XCTAssertTrue(ControllerActivation.caughtUp(l, appliedOffset: 41))
        XCTAssertFalse(ControllerActivation.caughtUp(leader(epoch: 7, start: nil), appliedOffset: 100))
        let follower = QuorumLeadership(leaderId: 2, epoch: 7, highWatermark: 50, isLocalLeader: false)
        XCTAssertFalse(ControllerActivation.caughtUp(follower, appliedOffset: 100))
    }

    func testActiveOnlyInTheEpochItActivatedIn() {
        let a = ControllerActivation()
        let l7 = leader(epoch: 7, start: 40)
        XCTAssertFalse(a.isActive(l7), "elected is not yet active")
        XCTAssertFalse(a.activate(l7, current: leader(epoch: 8, start: 45)), "leadership moved on while activating")
        XCTAssertFalse(a.isActive(l7))
        XCTAssertTrue(a.activate(l7, current: l7))
        XCTAssertTrue(a.isActive(l7))
        XCTAssertFalse(a.isActive(leader(epoch: 9, start: 60)), "a later epoch needs a new activation")
        XCTAssertFalse(a.isActive(QuorumLeadership(leaderId: 2, epoch: 7, highWatermark: 50, isLocalLeader: false)))
        a.deactivate()
        XCTAssertFalse(a.isActive(l7))
    }
}
