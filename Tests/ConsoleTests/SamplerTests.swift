import XCTest
@testable import Console
import TerminalUI

final class SamplerTests: XCTestCase {
    func testRatesFromEndOffsetDeltas() {
        let (s, _) = FixtureCluster.snapshot(samples: 4, growth: 100)
        let orders = s.topic(named: "orders")!
        XCTAssertEqual(orders.partitions[0].messagesPerSecond!, 50, accuracy: 0.001, "100 messages per 2 s")
        XCTAssertEqual(orders.partitions[1].messagesPerSecond!, 0, accuracy: 0.001)
        XCTAssertEqual(orders.messagesPerSecond!, 50, accuracy: 0.001)
        XCTAssertEqual(orders.retentionMs, 604_800_000)
        XCTAssertEqual(s.topic(named: "payments")?.retentionMs, -1)
    }

    func testFirstSampleHasNoRates() {
        let (s, _) = FixtureCluster.snapshot(samples: 1)
        XCTAssertNil(s.topic(named: "orders")!.messagesPerSecond)
    }

    func testUnderReplicatedSinceIsKeptAcrossSamples() {
        let (s, now) = FixtureCluster.snapshot(samples: 3)
        let p1 = s.topic(named: "orders")!.partitions[1]
        XCTAssertTrue(p1.isUnderReplicated)
        XCTAssertEqual(now.timeIntervalSince(p1.unhealthySince!), 4, "first seen in the first of three samples 2 s apart")
        XCTAssertEqual(s.topic(named: "orders")!.underReplicated, 1)
        XCTAssertEqual(p1.followerLag, [FollowerLag(brokerId: 3, lag: ReplicaLag(offsets: 150, timeMs: 12000), history: [150, 150, 150])])
    }

    func testBrokerMissingFromMetadataIsDownAndFailingLogDirsIsUnreachable() {
        var f = FixtureCluster()
        var state = SamplerState()
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        _ = state.ingest(f.raw(at: t), bootstrap: "x")
        f.brokers.removeLast()
        f.logDirError3 = nil
        var s = state.ingest(f.raw(at: t.addingTimeInterval(2)), bootstrap: "x")
        XCTAssertEqual(s.brokers.map(\.status), [.up, .up, .down])
        f = FixtureCluster()
        f.logDirError3 = "connection refused"
        s = state.ingest(f.raw(at: t.addingTimeInterval(4)), bootstrap: "x")
        XCTAssertEqual(s.brokers[2].status, .unreachable)
        XCTAssertEqual(s.brokers[2].error, "connection refused")
        XCTAssertTrue(s.brokers[0].isController)
        XCTAssertEqual(s.brokers[0].partitionsLed, 3)
    }

    func testLocallyStoppedBrokerIsDownNotUnreachable() {
        var f = FixtureCluster()
        var state = SamplerState()
        state.expectBrokers(f.brokers)
        state.setLocallyRunning([1, 2, 3])
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertEqual(state.ingest(f.raw(at: t), bootstrap: "x").brokers.map(\.status), [.up, .up, .up])
        state.setLocallyRunning([1, 2])
        f.brokers.removeLast()
        let s = state.ingest(f.raw(at: t.addingTimeInterval(2)), bootstrap: "x")
        XCTAssertEqual(s.brokers.map(\.status), [.up, .up, .down])
        XCTAssertEqual(s.brokers[2].error, "process stopped (local cluster)")
        XCTAssertEqual(s.brokers[2].partitionsLed, 0, "a stopped broker leads nothing")
        // The only broker stopped: stale Metadata must not keep it as controller.
        state.setLocallyRunning([])
        f.metadataError = "connection refused"
        let none = state.ingest(f.raw(at: t.addingTimeInterval(3)), bootstrap: "x")
        XCTAssertFalse(none.brokers[0].isController)
        XCTAssertEqual(none.brokers[0].partitionsLed, 0)
        f.metadataError = nil
        // kill -9 behind the console's back: the reason and the log say what happened.
        state.setLocallyRunning([1, 2], reasons: [3: "process killed by signal 9; log: /d/broker-3/broker.log"])
        let s2 = state.ingest(f.raw(at: t.addingTimeInterval(4)), bootstrap: "x")
        XCTAssertEqual(s2.brokers[2].error, "process killed by signal 9; log: /d/broker-3/broker.log")
    }

    func testMetadataFailureKeepsLastDataAndReportsError() {
        var f = FixtureCluster()
        var state = SamplerState()
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        _ = state.ingest(f.raw(at: t), bootstrap: "x")
        f.metadataError = "connection refused"
        let s = state.ingest(f.raw(at: t.addingTimeInterval(2)), bootstrap: "x")
        XCTAssertEqual(s.errors[.metadata], "connection refused")
        XCTAssertEqual(s.topics.count, 3, "previous topics stay visible")
        XCTAssertEqual(s.age(of: .metadata, now: t.addingTimeInterval(2)), 2)
        XCTAssertTrue(s.brokers.allSatisfy { $0.status == .unreachable })
    }

    /// With the broker down for a minute, billing turned ERR STOP ("no commit for 1m") and
    /// its lag seconds kept growing: the commits had not stopped, we could not read them.
    func testUnreachableClusterDoesNotTurnGroupsIntoStop() {
        var f = FixtureCluster()
        var state = SamplerState()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var last = ClusterSnapshot.empty(bootstrap: "x")
        for i in 0..<6 {
            last = state.ingest(f.raw(at: t0.addingTimeInterval(Double(i) * 2)), bootstrap: "x")
            f.ends[TopicPartition("orders", 0)]! += 100
            f.committed["billing"]![TopicPartition("orders", 0)]! += 90
        }
        let before = last.group(id: "billing")!
        XCTAssertNotEqual(before.partitions[0].status, .stop)
        f.unreachable = true
        let down = state.ingest(f.raw(at: t0.addingTimeInterval(70)), bootstrap: "x")
        let g = down.group(id: "billing")!
        XCTAssertEqual(g.partitions[0].status, before.partitions[0].status, g.partitions[0].reason)
        XCTAssertEqual(g.status, before.status, g.reason)
        XCTAssertEqual(g.maxLagSeconds, before.maxLagSeconds, "lag seconds as of the last data")
        XCTAssertNotNil(down.errors[.committed])
    }

    /// One sample cannot tell how old the lag is: it showed ">0s" (and "0s" for the group).
    func testLagSecondsUnknownOnFirstSample() {
        let (s, _) = FixtureCluster.snapshot(samples: 1)
        let p0 = s.group(id: "billing")!.partitions.first { $0.partition == 0 }!
        XCTAssertEqual(p0.lag, 100)
        XCTAssertNil(p0.lagSeconds)
    }

    /// A group 6144 messages (minutes) behind showed LAG-S "4.0s": the partitions' value
    /// was a lower bound (the lag predates the history) but the group column dropped the ">".
    func testGroupLagSecondsKeepsTheLowerBoundMarker() {
        let (s, _) = FixtureCluster.snapshot(samples: 3, growth: 0, consumed: 0)
        let g = s.group(id: "billing")!
        XCTAssertTrue(g.partitions.contains(where: \.lagSecondsIsLowerBound))
        let table = Presenters.groups(s, filter: TextFilter(""))
        let row = (0..<table.rowCount).map { table.row($0) }.first { $0.cells[0] == "billing" }!
        XCTAssertEqual(row.cells[5], ">4s")
    }

    /// `--once` (one sample) printed "@" as the trend of every group.
    func testNoSparklineFromASingleSample() {
        let (s, _) = FixtureCluster.snapshot(samples: 1)
        let table = Presenters.groups(s, filter: TextFilter(""), glyphs: .ascii)
        XCTAssertTrue((0..<table.rowCount).allSatisfy { table.row($0).cells[4].trimmingCharacters(in: .whitespaces).isEmpty })
        let (s3, _) = FixtureCluster.snapshot(samples: 3)
        let t3 = Presenters.groups(s3, filter: TextFilter(""), glyphs: .ascii)
        XCTAssertFalse((0..<t3.rowCount).allSatisfy { t3.row($0).cells[4].trimmingCharacters(in: .whitespaces).isEmpty })
    }

    func testGroupLagOwnershipAndDrainRate() {
        // orders-0 grows 100 per sample, billing consumes 150: lag drains by 50 per 2 s.
        let (s, _) = FixtureCluster.snapshot(samples: 4, growth: 100, consumed: 150)
        let g = s.group(id: "billing")!
        let p0 = g.partitions.first { $0.partition == 0 }!
        XCTAssertEqual(p0.lag, 1300 - 1350 < 0 ? 0 : 1300 - 1350)
        let (s2, _) = FixtureCluster.snapshot(samples: 4, growth: 100, consumed: 80)
        let q0 = s2.group(id: "billing")!.partitions.first { $0.partition == 0 }!
        XCTAssertEqual(q0.lag, 1300 - 1140)
        XCTAssertEqual(q0.drainRate!, -10, accuracy: 0.001, "lag grows by 20 per 2 s")
        XCTAssertNil(q0.etaSeconds)
        XCTAssertEqual(q0.clientId, "billing-1")
        XCTAssertEqual(s2.group(id: "billing")!.trend, .growing)
        XCTAssertEqual(s2.group(id: "billing")!.lagHistory, [200, 220, 240, 260])
        XCTAssertEqual(s2.group(id: "billing")!.totalLag, 160 + 0 + 100)
    }

    func testLagSecondsInterpolatesEndOffsetHistory() {
        let t = Date(timeIntervalSince1970: 1000)
        let h: [(Date, Int64)] = [(t, 100), (t.addingTimeInterval(10), 200), (t.addingTimeInterval(20), 300)]
        let now = t.addingTimeInterval(20)
        XCTAssertEqual(SamplerState.lagSeconds(committed: 300, history: h, now: now)!.0, 0)
        let (s, lower) = SamplerState.lagSeconds(committed: 149, history: h, now: now)!
        XCTAssertEqual(s, 15, accuracy: 0.001)
        XCTAssertFalse(lower)
        let (s2, lower2) = SamplerState.lagSeconds(committed: 50, history: h, now: now)!
        XCTAssertEqual(s2, 20)
        XCTAssertTrue(lower2, "older than the history: a lower bound")
    }

    func testEmptyGroupWithLagIsStopAndRollsUpToErr() {
        let (s, _) = FixtureCluster.snapshot(samples: 2)
        let audit = s.group(id: "audit")!
        XCTAssertEqual(audit.status, .err)
        XCTAssertTrue(audit.reason.hasPrefix("ERR: STOP payments-0: group has no active members, lag 2"), audit.reason)
    }

    func testRetentionBreachRollsUpToErr() {
        let (s, _) = FixtureCluster.snapshot(samples: 2) { f in f.starts[TopicPartition("orders", 2)] = 450 }
        let g = s.group(id: "billing")!
        XCTAssertEqual(g.status, .err)
        XCTAssertEqual(g.partitions.first { $0.partition == 2 }?.status, .breach)
    }

    func testSteadyConsumerWithGrowingLagBecomesWarn() {
        // Lag grows by 50 each sample while commits advance: after the window fills, WARN.
        let (s, _) = FixtureCluster.snapshot(samples: 12, growth: 100, consumed: 50)
        let p0 = s.group(id: "billing")!.partitions.first { $0.partition == 0 }!
        XCTAssertEqual(p0.status, .warn, p0.reason)
        XCTAssertEqual(s.group(id: "billing")!.status, .warn)
    }

    func testJSONRoundTrip() throws {
        let (s, _) = FixtureCluster.snapshot(samples: 2)
        let json = try HeadlessReport.render(s, format: .json)
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let back = try dec.decode(ClusterSnapshot.self, from: Data(json.utf8))
        XCTAssertEqual(back.topics.map(\.name), s.topics.map(\.name))
        XCTAssertTrue(json.contains("\"errors\" : {"))
    }
}
