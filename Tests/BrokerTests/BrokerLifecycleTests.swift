import XCTest
@testable import Broker
import KafkaProtocol

/// The broker side (Kafka's BrokerLifecycleManager) alone and talking to the pure controller
/// over a virtual clock: start-up states, what is sent when, backoff, controlled shutdown.
final class BrokerLifecycleTests: XCTestCase {
    func settings(_ id: Int32 = 1, incarnation: UInt64 = 1) -> BrokerLifecycle.Settings {
        .init(nodeId: id, clusterId: "cluster-A", incarnationId: KafkaUUID(mostSignificantBits: UInt64(id), leastSignificantBits: incarnation),
              listeners: [.init(name: "PLAINTEXT", host: "h\(id)", port: 9092, securityProtocol: 0)], rack: "r1",
              heartbeatIntervalMs: 2000, initialRegistrationTimeoutMs: 60_000)
    }

    func testRegistrationIsSentFirstAndRetriedWithBackoff() {
        var b = BrokerLifecycle(settings: settings())
        XCTAssertEqual(b.poll(now: 0), [], "nothing before start")
        b.start(now: 0)
        guard case .sendRegistration(let r)? = b.poll(now: 0).first else { return XCTFail() }
        XCTAssertEqual(r.brokerId, 1)
        XCTAssertEqual(r.clusterId, "cluster-A")
        XCTAssertEqual(r.rack, "r1")
        XCTAssertEqual(r.listeners.map(\.port), [9092])
        XCTAssertEqual(b.poll(now: 1), [], "one request in flight at a time")
        _ = b.registrationResponse(BrokerRegistrationResponse(errorCode: ErrorCode.duplicateBrokerRegistration.rawValue), now: 10)
        XCTAssertEqual(b.nextSendAtMs, 110, "first retry after 100 ms")
        XCTAssertEqual(b.poll(now: 109), [])
        XCTAssertEqual(b.poll(now: 110).count, 1)
        b.requestFailed(now: 200)
        XCTAssertEqual(b.nextSendAtMs, 400, "then 200 ms")
        XCTAssertEqual(BrokerLifecycle.backoffMs(failedAttempts: 30), 30_000, "capped at 30 s")
        XCTAssertEqual(b.state, .starting)
    }

    func testRegistrationTimeoutFailsStartup() {
        var b = BrokerLifecycle(settings: settings())
        b.start(now: 0)
        var now: Int64 = 0
        var failed: String?
        while now < 70_000, failed == nil {
            for a in b.poll(now: now) {
                switch a {
                case .sendRegistration: b.requestFailed(now: now)
                case .failStartup(let why): failed = why
                default: break
                }
            }
            now += 50
        }
        XCTAssertEqual(b.state, .shuttingDown)
        XCTAssertTrue(failed?.contains("initial.broker.registration.timeout.ms") == true, failed ?? "no failure")
        XCTAssertGreaterThanOrEqual(now, 60_000)
    }

    /// One broker and the controller exchanging requests on a virtual clock, with a metadata log
    /// that the broker applies `lag` records behind.
    struct Cluster {
        var log = TestMetadataLog()
        var control = ClusterControl(clusterId: "cluster-A", sessionTimeoutMs: 9000)
        var brokers: [Int32: BrokerLifecycle] = [:]
        var events: [Int32: [BrokerLifecycle.Action]] = [:]
        var now: Int64 = 0

        mutating func step(applyMetadata: Bool = true) {
            for id in brokers.keys.sorted() {
                var b = brokers[id]!
                if applyMetadata { b.metadataApplied(offset: log.nextOffset - 1) }
                for action in b.poll(now: now) {
                    switch action {
                    case .sendRegistration(let r):
                        let out = control.register(r, image: log.image, nextWriteOffset: log.nextOffset, now: now)
                        log.append(out.records)
                        events[id, default: []] += b.registrationResponse(out.reply, now: now)
                    case .sendHeartbeat(let h):
                        let out = control.heartbeat(h, image: log.image, nextWriteOffset: log.nextOffset, now: now)
                        log.append(out.records)
                        events[id, default: []] += b.heartbeatResponse(out.reply, now: now)
                    default:
                        events[id, default: []].append(action)
                    }
                }
                brokers[id] = b
            }
            log.append(control.fenceExpiredSessions(image: log.image, now: now))
            now += 10
        }

        mutating func run(untilMs: Int64, applyMetadata: Bool = true) { while now < untilMs { step(applyMetadata: applyMetadata) } }
    }

    func testStartingRecoveryRunningAgainstTheController() {
        var c = Cluster()
        c.log.append([.featureLevel(name: "metadata.version", level: 25)])
        var s = settings()
        s.features = [.init(name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 25)]
        c.brokers[1] = BrokerLifecycle(settings: s)
        c.brokers[1]!.start(now: 0)
        // The broker does not apply metadata yet: it stays STARTING, heartbeating every 10 ms.
        c.run(untilMs: 200, applyMetadata: false)
        XCTAssertEqual(c.brokers[1]!.state, .starting)
        XCTAssertEqual(c.brokers[1]!.brokerEpoch, 1, "the offset of its RegisterBrokerRecord")
        XCTAssertEqual(c.brokers[1]!.nextSendAtMs.map { $0 - c.now } ?? -1, 0, "heartbeats every 10 ms while starting")
        // It catches up: RECOVERY, still fenced while it recovers its logs (WantFence).
        c.run(untilMs: 400)
        XCTAssertEqual(c.brokers[1]!.state, .recovery)
        XCTAssertEqual(c.events[1], [.caughtUp])
        XCTAssertEqual(c.log.image.brokers[1]?.fenced, true)
        c.run(untilMs: 10_000)
        XCTAssertEqual(c.brokers[1]!.state, .recovery, "not unfenced before it says it is ready")
        XCTAssertEqual(c.log.image.brokers[1]?.fenced, true, "and its session is kept alive by heartbeats meanwhile")
        c.brokers[1]!.setReadyToUnfence()
        c.run(untilMs: 12_100)
        XCTAssertEqual(c.brokers[1]!.state, .running)
        XCTAssertEqual(c.events[1], [.caughtUp, .unfenced])
        XCTAssertEqual(c.log.image.brokers[1]?.fenced, false)
        // Running: one heartbeat per interval keeps it unfenced for a long time.
        c.run(untilMs: 60_000)
        XCTAssertEqual(c.log.image.brokers[1]?.fenced, false)
    }

    func testControlledShutdownMovesLeadershipThenExits() {
        var c = Cluster()
        for id: Int32 in [1, 2] {
            c.brokers[id] = BrokerLifecycle(settings: settings(id))
            c.brokers[id]!.start(now: 0)
            c.brokers[id]!.setReadyToUnfence()
        }
        c.run(untilMs: 5000)
        XCTAssertEqual(c.brokers[1]!.state, .running)
        XCTAssertEqual(c.brokers[2]!.state, .running)
        let t = KafkaUUID(mostSignificantBits: 5, leastSignificantBits: 5)
        c.log.append([.topic(name: "t", id: t)] + (0..<10).map { i in
            .partition(topicID: t, PartitionRegistration(partition: Int32(i), replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0))
        })
        XCTAssertEqual(c.brokers[1]!.beginControlledShutdown(now: c.now), [])
        XCTAssertEqual(c.brokers[1]!.state, .pendingControlledShutdown)
        XCTAssertEqual(c.brokers[1]!.nextSendAtMs, c.now, "the WantShutDown heartbeat goes at once")
        c.run(untilMs: c.now + 3000)
        XCTAssertEqual(c.events[1]?.last, .shutdownNow)
        XCTAssertEqual(c.brokers[1]!.state, .shuttingDown)
        XCTAssertTrue(c.log.image.topics["t"]!.partitions.allSatisfy { $0.leader == 2 && $0.isr == [2] })
        XCTAssertEqual(c.log.image.brokers[1]?.fenced, true)
        XCTAssertEqual(c.log.image.brokers[2]?.fenced, false)
        XCTAssertLessThan(c.now, 10_000, "well within the session timeout")
    }

    func testControlledShutdownBeforeRunningExitsAtOnce() {
        var b = BrokerLifecycle(settings: settings())
        b.start(now: 0)
        XCTAssertEqual(b.beginControlledShutdown(now: 5), [.shutdownNow])
        XCTAssertEqual(b.poll(now: 10), [])
    }

    func testHeartbeatErrorsBackOff() {
        var b = BrokerLifecycle(settings: settings())
        b.start(now: 0)
        _ = b.poll(now: 0)
        _ = b.registrationResponse(BrokerRegistrationResponse(errorCode: 0, brokerEpoch: 7), now: 0)
        guard case .sendHeartbeat(let h)? = b.poll(now: 0).first else { return XCTFail() }
        XCTAssertEqual(h.brokerEpoch, 7)
        XCTAssertTrue(h.wantFence)
        XCTAssertFalse(h.wantShutDown)
        _ = b.heartbeatResponse(BrokerHeartbeatResponse(errorCode: ErrorCode.notController.rawValue), now: 5)
        XCTAssertEqual(b.nextSendAtMs, 105)
        _ = b.poll(now: 105)
        _ = b.heartbeatResponse(BrokerHeartbeatResponse(errorCode: 0, isCaughtUp: true, isFenced: true), now: 110)
        XCTAssertEqual(b.state, .recovery)
        XCTAssertEqual(b.failedAttempts, 0, "a success resets the backoff")
        XCTAssertEqual(b.nextSendAtMs, 120)
    }
}
