import XCTest
@testable import Broker
import KafkaProtocol

/// The leader's ISR state machine with time passed in (notes §3.2-§3.5): follower state,
/// expansion on catch-up, shrink after the lag time, the HW rule, AlterPartition answers.
final class LeaderIsrStateTests: XCTestCase {
    let topicID = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2)
    let lag: Int64 = 3000
    var brokers: [Int32: BrokerLiveness] = [
        1: .init(fenced: false, inControlledShutdown: false, epoch: 10),
        2: .init(fenced: false, inControlledShutdown: false, epoch: 20),
        3: .init(fenced: false, inControlledShutdown: false, epoch: 30),
    ]

    func leadership(isr: [Int32], leader: Int32 = 1, leaderEpoch: Int32 = 5, partitionEpoch: Int32 = 8) -> PartitionLeadership {
        PartitionLeadership(topicID: topicID, leader: leader, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch,
                            replicas: [1, 2, 3], isr: isr)
    }

    /// Broker 1 leads from LEO `leo` at time `now`.
    func leader(isr: [Int32], leo: Int64 = 100, now: Int64 = 1000) -> LeaderIsrState {
        var s = LeaderIsrState(localBrokerId: 1)
        XCTAssertTrue(s.applyMetadata(leadership(isr: isr), leaderEndOffset: leo, nowMs: now))
        return s
    }

    func fetch(_ s: inout LeaderIsrState, _ id: Int32, at offset: Int64, now: Int64, leo: Int64 = 100, hw: Int64 = 0,
               epoch: Int64? = nil) -> PendingIsrChange? {
        let map = brokers
        return s.updateFollowerFetch(replicaId: id, fetchOffset: offset, brokerEpoch: epoch ?? map[id]?.epoch ?? -1, nowMs: now,
                                     leaderEndOffset: leo, highWatermark: hw, localBrokerEpoch: 10, liveness: { map[$0] })
    }

    func hw(_ s: LeaderIsrState, leo: Int64 = 100, now: Int64, minIsr: Int = 1) -> Int64? {
        let map = brokers
        return s.highWatermarkTarget(leaderEndOffset: leo, nowMs: now, replicaLagTimeMaxMs: lag, minInsyncReplicas: minIsr,
                                     liveness: { map[$0] })
    }

    func testLastCaughtUpTimeFollowsKafkasRule() {
        var f = FollowerReplicaState()
        f.updateFetchState(fetchOffset: 50, nowMs: 1000, leaderEndOffset: 100, brokerEpoch: 20)
        XCTAssertEqual(f.lastCaughtUpTimeMs, 0, "behind the leader's LEO of this fetch and of no earlier fetch")
        f.updateFetchState(fetchOffset: 100, nowMs: 2000, leaderEndOffset: 120, brokerEpoch: 20)
        XCTAssertEqual(f.lastCaughtUpTimeMs, 1000, "reached the LEO the leader had at the previous fetch: caught up then")
        f.updateFetchState(fetchOffset: 130, nowMs: 3000, leaderEndOffset: 130, brokerEpoch: 20)
        XCTAssertEqual(f.lastCaughtUpTimeMs, 3000, "at the leader's LEO now")
        XCTAssertEqual(f.logEndOffset, 130)
        XCTAssertEqual(f.lastFetchLeaderLogEndOffset, 130)
        XCTAssertTrue(f.isCaughtUp(leaderEndOffset: 500, nowMs: 6000, replicaLagTimeMaxMs: 3000))
        XCTAssertFalse(f.isCaughtUp(leaderEndOffset: 500, nowMs: 6001, replicaLagTimeMaxMs: 3000))
        XCTAssertTrue(f.isCaughtUp(leaderEndOffset: 130, nowMs: 99_999, replicaLagTimeMaxMs: 3000), "at the LEO: always caught up")
    }

    func testNewLeaderResetsFollowers() {
        var s = leader(isr: [1, 2], now: 1000)
        XCTAssertEqual(s.followers[2]?.lastCaughtUpTimeMs, 1000, "ISR members count as caught up from the election")
        XCTAssertEqual(s.followers[3]?.lastCaughtUpTimeMs, 0)
        XCTAssertEqual(s.followers[2]?.logEndOffset, -1)
        XCTAssertEqual(s.leaderEpochStartOffset, 100)
        _ = fetch(&s, 2, at: 100, now: 1500)
        // The same leader epoch with a new partition epoch keeps follower state.
        XCTAssertTrue(s.applyMetadata(leadership(isr: [1, 2], partitionEpoch: 9), leaderEndOffset: 150, nowMs: 2000))
        XCTAssertEqual(s.followers[2]?.logEndOffset, 100)
        XCTAssertEqual(s.leaderEpochStartOffset, 100)
        // A follower again: nothing tracked.
        XCTAssertTrue(s.applyMetadata(leadership(isr: [2], leader: 2, leaderEpoch: 6, partitionEpoch: 10), leaderEndOffset: 150, nowMs: 2000))
        XCTAssertTrue(s.followers.isEmpty)
        XCTAssertNil(hw(s, now: 2000))
    }

    func testExpandOnCatchUpOnlyOnceInSync() {
        var s = leader(isr: [1, 2], leo: 100)
        XCTAssertNil(fetch(&s, 3, at: 40, now: 1100, hw: 90), "below the HW")
        XCTAssertNil(fetch(&s, 3, at: 95, now: 1200, hw: 90), "at the HW but below the leader epoch start offset (100)")
        let change = try! XCTUnwrap(fetch(&s, 3, at: 100, now: 1300, hw: 90))
        XCTAssertEqual(change.kind, .expand(3))
        XCTAssertEqual(change.newIsr, [.init(brokerId: 1, brokerEpoch: 10), .init(brokerId: 2, brokerEpoch: -1), .init(brokerId: 3, brokerEpoch: 30)],
                       "broker epochs from the fetches (2 has not fetched under this leader)")
        XCTAssertEqual(change.leaderEpoch, 5)
        XCTAssertEqual(change.partitionEpoch, 8)
        XCTAssertEqual(s.isr, [1, 2], "committed ISR unchanged while pending")
        XCTAssertEqual(s.maximalIsr, [1, 2, 3])
        XCTAssertNil(fetch(&s, 3, at: 100, now: 1400, hw: 90), "one change in flight")
        XCTAssertEqual(s.outOfSyncReplicas(leaderEndOffset: 100, nowMs: 99_999, replicaLagTimeMaxMs: lag), [], "no shrink while in flight")
    }

    func testIneligibleFollowersDoNotJoin() {
        var s = leader(isr: [1, 2])
        brokers[3]?.fenced = true
        XCTAssertNil(fetch(&s, 3, at: 100, now: 1100), "fenced")
        brokers[3]?.fenced = false
        brokers[3]?.inControlledShutdown = true
        XCTAssertNil(fetch(&s, 3, at: 100, now: 1100), "shutting down")
        brokers[3]?.inControlledShutdown = false
        XCTAssertNil(fetch(&s, 3, at: 100, now: 1100, epoch: 29), "fetched with an old broker epoch (a previous incarnation)")
        brokers[3] = nil
        XCTAssertNil(fetch(&s, 3, at: 100, now: 1100, epoch: 30), "unregistered")
        brokers[3] = .init(fenced: false, inControlledShutdown: false, epoch: 30)
        XCTAssertNotNil(fetch(&s, 3, at: 100, now: 1100, epoch: -1), "a fetch without a broker epoch skips that check")
    }

    func testFetchFromANonReplicaOrAsFollowerChangesNothing() {
        var s = leader(isr: [1, 2])
        let before = s
        XCTAssertNil(fetch(&s, 4, at: 100, now: 1100))
        XCTAssertEqual(s, before)
        var f = LeaderIsrState(localBrokerId: 3)
        f.applyMetadata(leadership(isr: [1, 2, 3]), leaderEndOffset: 100, nowMs: 0)
        XCTAssertNil(fetch(&f, 2, at: 100, now: 1100))
        XCTAssertTrue(f.followers.isEmpty)
    }

    func testShrinkAfterLagTime() {
        var s = leader(isr: [1, 2, 3], leo: 100, now: 1000)
        _ = fetch(&s, 2, at: 100, now: 1000)
        _ = fetch(&s, 3, at: 100, now: 1000)
        // 3 stops fetching; 2 keeps up while the leader's LEO grows.
        for t in stride(from: Int64(1500), through: 4000, by: 500) {
            _ = fetch(&s, 2, at: 100 + t / 100, now: t, leo: 100 + t / 100)
        }
        XCTAssertNil(s.maybeShrinkIsr(leaderEndOffset: 140, nowMs: 4000, replicaLagTimeMaxMs: lag, localBrokerEpoch: 10),
                     "3 was caught up at 1000: within the lag time until 4000")
        let shrink = try! XCTUnwrap(s.maybeShrinkIsr(leaderEndOffset: 140, nowMs: 4001, replicaLagTimeMaxMs: lag, localBrokerEpoch: 10))
        XCTAssertEqual(shrink.kind, .shrink([3]))
        XCTAssertEqual(shrink.isr, [1, 2])
        XCTAssertEqual(s.maximalIsr, [1, 2, 3], "a pending shrink still counts")
        XCTAssertNil(s.maybeShrinkIsr(leaderEndOffset: 140, nowMs: 9000, replicaLagTimeMaxMs: lag, localBrokerEpoch: 10))
    }

    func testIdleFollowerAtTheLeadersEndStaysInSync() {
        var s = leader(isr: [1, 2], leo: 100, now: 1000)
        _ = fetch(&s, 2, at: 100, now: 1000)
        XCTAssertNil(s.maybeShrinkIsr(leaderEndOffset: 100, nowMs: 999_000, replicaLagTimeMaxMs: lag, localBrokerEpoch: 10),
                     "no new data: its LEO equals the leader's")
    }

    func testPendingExpansionCountsTowardTheHWAndShrinkOnlyOnceCommitted() {
        var s = leader(isr: [1, 2], leo: 100, now: 1000)
        _ = fetch(&s, 2, at: 100, now: 1000)
        XCTAssertEqual(hw(s, now: 1000), 100)
        // 3 joins: pending expansion; at leader LEO 120 it holds the HW at its own LEO.
        let change = try! XCTUnwrap(fetch(&s, 3, at: 100, now: 1100, leo: 120, hw: 100))
        _ = fetch(&s, 2, at: 120, now: 1100, leo: 120)
        XCTAssertEqual(hw(s, leo: 120, now: 1100), 100, "the pending member 3 is at 100")
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .success(leaderId: 1, leaderEpoch: 5, partitionEpoch: 9, isr: [1, 2, 3])),
                       .committed)
        XCTAssertEqual(s.isr, [1, 2, 3])
        XCTAssertEqual(s.partitionEpoch, 9)
        // 3 falls behind for good: shrink pending -> it still holds the HW; committed -> it does not.
        let shrink = try! XCTUnwrap(s.maybeShrinkIsr(leaderEndOffset: 120, nowMs: 9000, replicaLagTimeMaxMs: lag, localBrokerEpoch: 10))
        _ = fetch(&s, 2, at: 120, now: 9000, leo: 120)
        XCTAssertEqual(hw(s, leo: 120, now: 9000), 100, "a pending shrink does not count yet")
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: shrink.id, .success(leaderId: 1, leaderEpoch: 5, partitionEpoch: 10, isr: [1, 2])),
                       .committed)
        XCTAssertEqual(hw(s, leo: 120, now: 9000), 120)
    }

    func testCaughtUpEligibleReplicaOutsideTheIsrHoldsTheHW() {
        var s = leader(isr: [1], leo: 100, now: 1000)
        // 2 reaches the leader's LEO; its expansion is refused (the controller saw it fenced
        // an instant earlier), so it is caught up but not in the (maximal) ISR.
        let change = try! XCTUnwrap(fetch(&s, 2, at: 100, now: 1000, hw: 100))
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .failure(.ineligibleReplica)), .reverted)
        XCTAssertEqual(s.maximalIsr, [1])
        XCTAssertEqual(hw(s, leo: 120, now: 1000), 100, "it may join soon: the HW waits for it")
        XCTAssertEqual(hw(s, leo: 120, now: 4001), 120, "not caught up within the lag time: ignored")
        brokers[2]?.fenced = true
        XCTAssertEqual(hw(s, leo: 120, now: 1000), 120, "not ISR eligible: ignored")
    }

    func testHWFrozenBelowEffectiveMinIsr() {
        var s = leader(isr: [1], leo: 100)
        XCTAssertNil(hw(s, now: 1000, minIsr: 2), "ISR 1 < min ISR 2: the HW does not move")
        XCTAssertEqual(hw(s, now: 1000, minIsr: 1), 100)
        XCTAssertTrue(s.isUnderMinIsr(2))
        s.applyMetadata(leadership(isr: [1, 2, 3], partitionEpoch: 9), leaderEndOffset: 100, nowMs: 1000)
        _ = fetch(&s, 2, at: 100, now: 1000)
        _ = fetch(&s, 3, at: 100, now: 1000)
        XCTAssertEqual(s.effectiveMinIsr(5), 3, "min.insync.replicas above the replication factor counts as the replication factor")
        XCTAssertEqual(hw(s, now: 1000, minIsr: 5), 100)
        XCTAssertFalse(s.isUnderMinIsr(5))
    }

    func testAcksOutcome() {
        var s = leader(isr: [1, 2], leo: 100)
        XCTAssertNil(s.acksOutcome(requiredOffset: 101, highWatermark: 100, minInsyncReplicas: 2), "still waiting")
        XCTAssertEqual(s.acksOutcome(requiredOffset: 100, highWatermark: 100, minInsyncReplicas: 2), ErrorCode.none)
        s.applyMetadata(leadership(isr: [1], partitionEpoch: 9), leaderEndOffset: 100, nowMs: 1000)
        XCTAssertEqual(s.acksOutcome(requiredOffset: 100, highWatermark: 100, minInsyncReplicas: 2), .notEnoughReplicasAfterAppend)
        XCTAssertEqual(s.acksOutcome(requiredOffset: 100, highWatermark: 100, minInsyncReplicas: 1), ErrorCode.none)
    }

    func testStaleAnswersAreIgnored() {
        var s = leader(isr: [1, 2])
        let change = try! XCTUnwrap(fetch(&s, 3, at: 100, now: 1100, hw: 100))
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id + 1, .success(leaderId: 1, leaderEpoch: 5, partitionEpoch: 9, isr: [1, 2, 3])),
                       .ignored, "another proposal's answer")
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .success(leaderId: 1, leaderEpoch: 4, partitionEpoch: 9, isr: [1, 2, 3])),
                       .ignored, "another leader epoch")
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .success(leaderId: 1, leaderEpoch: 5, partitionEpoch: 7, isr: [1, 2, 3])),
                       .ignored, "an older partition epoch")
        XCTAssertEqual(s.isr, [1, 2])
        XCTAssertNotNil(s.pending, "still pending: new metadata resolves it")
        // New metadata replaces the pending change; its late answer is ignored.
        s.applyMetadata(leadership(isr: [1, 2, 3], partitionEpoch: 9), leaderEndOffset: 100, nowMs: 1200)
        XCTAssertNil(s.pending)
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .failure(.invalidUpdateVersion)), .ignored)
        XCTAssertEqual(s.isr, [1, 2, 3])
    }

    func testMetadataOlderThanACommittedAnswerIsIgnored() {
        var s = leader(isr: [1, 2])
        let change = try! XCTUnwrap(fetch(&s, 3, at: 100, now: 1100, hw: 100))
        XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .success(leaderId: 1, leaderEpoch: 5, partitionEpoch: 9, isr: [1, 2, 3])),
                       .committed)
        XCTAssertFalse(s.applyMetadata(leadership(isr: [1, 2], partitionEpoch: 8), leaderEndOffset: 100, nowMs: 1200),
                       "the image has not caught up with the answer yet")
        XCTAssertEqual(s.isr, [1, 2, 3])
        XCTAssertTrue(s.applyMetadata(leadership(isr: [1, 2, 3], partitionEpoch: 9), leaderEndOffset: 100, nowMs: 1200))
    }

    func testErrorAnswers() {
        for (code, outcome) in [(ErrorCode.ineligibleReplica, AlterPartitionOutcome.reverted), (.operationNotAttempted, .reverted),
                                (.fencedLeaderEpoch, .awaitingMetadata), (.invalidUpdateVersion, .awaitingMetadata),
                                (.unknownTopicOrPartition, .awaitingMetadata), (.unknownTopicId, .awaitingMetadata),
                                (.invalidRequest, .awaitingMetadata), (.newLeaderElected, .awaitingMetadata),
                                (.notController, .retry), (.staleBrokerEpoch, .retry), (.unknownServerError, .retry)] {
            var s = leader(isr: [1, 2])
            let change = try! XCTUnwrap(fetch(&s, 3, at: 100, now: 1100, hw: 100))
            XCTAssertEqual(s.handleAlterPartitionResult(changeId: change.id, .failure(code)), outcome, code.name)
            XCTAssertEqual(s.pending == nil, outcome == .reverted, "\(code.name): only a revert drops the proposal")
            XCTAssertEqual(s.isr, [1, 2])
            if outcome == .reverted {
                XCTAssertEqual(s.maximalIsr, [1, 2], "back to the committed ISR")
                XCTAssertNotNil(fetch(&s, 3, at: 100, now: 1200, hw: 100), "and a later fetch may propose again")
            }
        }
    }
}
