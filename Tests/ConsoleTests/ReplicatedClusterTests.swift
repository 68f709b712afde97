import XCTest
import TerminalUI
@testable import Console
@testable import ClusterManager

/// Issue 13: the console on a replicated KRaft cluster. Roles and the active controller from
/// DescribeQuorum + Metadata, fenced brokers, per-partition health (URP, under min ISR,
/// offline, preferred leader), the cluster counts, the quorum pane and the `--once` JSON.
final class ReplicatedClusterTests: XCTestCase {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static var t0Ms: Int64 { Int64(t0.timeIntervalSince1970 * 1000) }

    /// 3 combined nodes; broker 3 was killed: gone from Metadata, its partitions led by others,
    /// out of every ISR. Quorum leader 2 (Metadata's controller id says 1, as a KRaft broker
    /// reports any live broker).
    static func raw(brokers: [Int32] = [1, 2, 3], quorum: QuorumInfo?, minIsr: String? = "2") -> RawSample {
        let endpoints = brokers.map { BrokerEndpoint(id: $0, host: "127.0.0.1", port: 9090 + $0) }
        let md = ClusterMetadata(clusterId: "c1", controllerId: 1, brokers: endpoints, topics: [
            TopicMetadata(name: "orders", partitions: [
                // healthy, on its preferred leader
                PartitionMetadata(partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 4),
                // broker 3 left the ISR; leader moved from 3 to 1 (not preferred)
                PartitionMetadata(partition: 1, leader: 1, replicas: [3, 1, 2], isr: [1, 2], offlineReplicas: [3], leaderEpoch: 7),
                // only one in sync: under min ISR 2
                PartitionMetadata(partition: 2, leader: 2, replicas: [2, 3, 1], isr: [2], offlineReplicas: [3], leaderEpoch: 2),
                // no leader at all
                PartitionMetadata(partition: 3, leader: -1, replicas: [3], isr: [3], offlineReplicas: [3], leaderEpoch: 1),
            ]),
        ])
        var r = RawSample(metadata: .success(md), offsets: .success([:]), logDirs: [:], groups: .success([]), committed: .success([:]),
                          topicConfigs: .success(minIsr.map { ["orders": ["min.insync.replicas": $0]] } ?? [:]),
                          startedAt: t0.addingTimeInterval(-0.1), finishedAt: t0)
        r.quorum = .success(quorum)
        return r
    }

    static let quorum = QuorumInfo(leaderId: 2, leaderEpoch: 9, highWatermark: 500, replicas: [
        .init(nodeId: 1, isVoter: true, logEndOffset: 498, lag: 2, lastFetchTimestampMs: t0Ms - 300, lastCaughtUpTimestampMs: t0Ms - 300),
        .init(nodeId: 2, isVoter: true, logEndOffset: 500, lag: 0, lastFetchTimestampMs: t0Ms, lastCaughtUpTimestampMs: t0Ms),
        .init(nodeId: 3, isVoter: true, logEndOffset: 420, lag: 80, lastFetchTimestampMs: t0Ms - 30_000, lastCaughtUpTimestampMs: t0Ms - 31_000),
        .init(nodeId: 4, isVoter: false, logEndOffset: 500, lag: 0, lastFetchTimestampMs: t0Ms - 100, lastCaughtUpTimestampMs: t0Ms - 100),
    ])

    func snapshot(brokers: [Int32] = [1, 2], quorum: QuorumInfo? = ReplicatedClusterTests.quorum, local: (managed: [Int32], running: Set<Int32>)? = nil) -> ClusterSnapshot {
        var state = SamplerState()
        if let local {
            state.expectBrokers(local.managed.map { BrokerEndpoint(id: $0, host: "127.0.0.1", port: 9090 + $0) })
            state.setLocallyRunning(local.running, reasons: [:])
        }
        return state.ingest(Self.raw(brokers: brokers, quorum: quorum), bootstrap: "127.0.0.1:9091")
    }

    func testRolesActiveControllerAndCountsFromQuorumAndMetadata() {
        let s = snapshot(brokers: [1, 2, 3])
        let b = Dictionary(uniqueKeysWithValues: s.brokers.map { ($0.id, $0) })
        XCTAssertEqual(b[1]?.role, .both)
        XCTAssertEqual(b[2]?.role, .both)
        XCTAssertEqual(b[4]?.role, .broker, "an observer is a broker-only node")
        XCTAssertEqual(b[4]?.quorumState, "observer")
        XCTAssertEqual(b[2]?.quorumState, "leader")
        XCTAssertEqual(b[1]?.quorumState, "follower")
        XCTAssertEqual(b[1]?.quorumLag, 2)
        XCTAssertEqual(s.controllerId, 2, "the quorum leader, not Metadata's controller id")
        XCTAssertEqual(s.brokers.filter(\.isController).map(\.id), [2])
        XCTAssertEqual(b[1]?.partitionsLed, 2)
        XCTAssertEqual(b[1]?.underReplicatedLed, 1, "orders-1")
        XCTAssertEqual(b[2]?.underReplicatedLed, 1, "orders-2")
        XCTAssertEqual(b[3]?.replicas, 4)
        XCTAssertEqual(b[1]?.replicas, 3)
    }

    func testNoQuorumMeansNoRolesAndMetadataController() {
        let s = snapshot(brokers: [1, 2, 3], quorum: nil)
        XCTAssertTrue(s.brokers.allSatisfy { $0.role == nil && $0.quorumState == nil })
        XCTAssertEqual(s.controllerId, 1)
        XCTAssertNil(s.quorum)
        XCTAssertEqual(Presenters.quorum(s, filter: TextFilter(""), now: Self.t0).emptyMessage,
                       "the cluster reports no controller quorum (DescribeQuorum)")
    }

    /// A broker whose process runs but which is missing from Metadata is fenced (Kafka lists
    /// only unfenced brokers); a killed one is down; a quorum observer fetching now is fenced too.
    func testFencedVersusDown() {
        let s = snapshot(brokers: [1, 2], local: (managed: [1, 2, 3], running: [1, 2, 3]))
        let b3 = s.brokers.first { $0.id == 3 }!
        XCTAssertEqual(b3.status, .fenced)
        XCTAssertTrue(b3.error?.contains("fenced") ?? false)
        let killed = snapshot(brokers: [1, 2], local: (managed: [1, 2, 3], running: [1, 2]))
        XCTAssertEqual(killed.brokers.first { $0.id == 3 }?.status, .down)
        XCTAssertEqual(killed.brokers.first { $0.id == 3 }?.partitionsLed, 0)
        // Not local: node 4 (observer, fetched 100 ms ago) is absent from Metadata -> fenced;
        // node 3 (voter, last fetch 30 s ago) -> down.
        let remote = snapshot(brokers: [1, 2])
        XCTAssertEqual(remote.brokers.first { $0.id == 4 }?.status, .fenced)
        XCTAssertEqual(remote.brokers.first { $0.id == 3 }?.status, .down)
    }

    func testPartitionHealthAndClusterCounts() {
        let s = snapshot(brokers: [1, 2])
        let p = s.topic(named: "orders")!.partitions
        XCTAssertEqual(p.map(\.health.preferredLeader), [true, false, true, false])
        XCTAssertEqual(p.map(\.health.underReplicated), [false, true, true, false], "an offline partition counts as offline, not URP")
        XCTAssertEqual(p.map(\.health.underMinIsr), [false, false, true, false])
        XCTAssertEqual(p.map(\.health.offline), [false, false, false, true])
        XCTAssertEqual(p.map(\.leaderEpoch), [4, 7, 2, 1])
        XCTAssertEqual(p[1].minInSyncReplicas, 2)
        XCTAssertEqual(s.health.partitions, 4)
        XCTAssertEqual(s.health.underReplicated, 2)
        XCTAssertEqual(s.health.underMinIsr, 1)
        XCTAssertEqual(s.health.offline, 1)
        XCTAssertEqual(s.health.notOnPreferredLeader, 2)
        XCTAssertEqual(s.topic(named: "orders")?.underMinIsr, 1)
        // Without min.insync.replicas read yet, nothing is called under min ISR.
        var state = SamplerState()
        let s2 = state.ingest(Self.raw(quorum: nil, minIsr: nil), bootstrap: "x")
        XCTAssertEqual(s2.health.underMinIsr, 0)
    }

    func testPartitionsPaneShowsEpochOfflinePreferredAndState() {
        let s = snapshot(brokers: [1, 2])
        let t = Presenters.partitions(s, topic: "orders", filter: TextFilter(""), now: Self.t0)
        XCTAssertEqual(t.columns.map(\.title).prefix(8), ["P", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE", "PREF", "STATE"])
        XCTAssertEqual(Array(t.row(0).cells.prefix(8)), ["0", "1", "4", "1,2,3", "1,2,3", "-", "yes", "ok"])
        XCTAssertEqual(Array(t.row(1).cells.prefix(7)), ["1", "1", "7", "3,1,2", "1,2", "3", "no"])
        XCTAssertTrue(t.row(1).cells[7].hasPrefix("URP"))
        XCTAssertEqual(t.row(1).cellRoles[6], .warn)
        XCTAssertTrue(t.row(2).cells[7].hasPrefix("<MIN-ISR"))
        XCTAssertEqual(t.row(2).cellRoles[7], .error)
        XCTAssertTrue(t.detail(2)?.contains("ISR 1 < min.insync.replicas 2") ?? false, t.detail(2) ?? "")
        XCTAssertTrue(t.row(3).cells[7].hasPrefix("OFFLINE"))
        XCTAssertEqual(Presenters.partitions(s, topic: "orders", filter: TextFilter("minisr"), now: Self.t0).rowCount, 1)
        XCTAssertEqual(Presenters.partitions(s, topic: "orders", filter: TextFilter("notpref"), now: Self.t0).rowCount, 2)
        XCTAssertEqual(Presenters.partitions(s, topic: "orders", filter: TextFilter("urp"), now: Self.t0).rowCount, 2)
    }

    func testBrokersAndQuorumPanes() {
        let s = snapshot(brokers: [1, 2, 3])
        let b = Presenters.brokers(s, filter: TextFilter(""))
        XCTAssertEqual(b.title, "Brokers")
        XCTAssertEqual(b.subtitle, " · quorum leader 2 · epoch 9 · HW 500")
        XCTAssertEqual(b.row(1).cells, ["2", "127.0.0.1:9092", "-", "both", "yes", "leader", "up", "1", "3", "1", "-"])
        XCTAssertEqual(b.row(1).cellRoles[9], .warn)
        XCTAssertEqual(b.row(3).cells[1], "-", "node 4 is known only from the quorum: no address")
        let q = Presenters.quorum(s, filter: TextFilter(""), now: Self.t0)
        XCTAssertEqual(q.title, "Quorum · leader 2 · epoch 9 · high watermark 500")
        XCTAssertEqual(q.rowCount, 4)
        XCTAssertEqual(q.row(0).cells, ["1", "voter", "follower", "498", "2", "0.3s ago", "0.3s ago"])
        XCTAssertEqual(q.row(1).cells[2], "leader")
        XCTAssertEqual(q.row(2).cells[4], "80")
        XCTAssertEqual(q.row(2).cellRoles[4], .warn)
        XCTAssertEqual(q.row(3).cells[1], "observer")
        XCTAssertEqual(Presenters.quorum(s, filter: TextFilter("observer"), now: Self.t0).rowCount, 1)
    }

    func testOnceJSONAndTextCarryQuorumRolesAndHealth() throws {
        let s = snapshot(brokers: [1, 2])
        let json = try HeadlessReport.render(s, format: .json, now: Self.t0)
        let obj = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let health = obj["health"] as! [String: Int]
        XCTAssertEqual(health["underReplicated"], 2)
        XCTAssertEqual(health["underMinIsr"], 1)
        XCTAssertEqual(health["offline"], 1)
        let quorum = obj["quorum"] as! [String: Any]
        XCTAssertEqual(quorum["leaderId"] as? Int, 2)
        XCTAssertEqual((quorum["replicas"] as! [[String: Any]]).count, 4)
        let brokers = obj["brokers"] as! [[String: Any]]
        XCTAssertEqual(brokers.first { $0["id"] as? Int == 2 }?["role"] as? String, "both")
        XCTAssertEqual(brokers.first { $0["id"] as? Int == 3 }?["status"] as? String, "down")
        let part = ((obj["topics"] as! [[String: Any]])[0]["partitions"] as! [[String: Any]])[1]
        XCTAssertEqual(part["isr"] as? [Int], [1, 2])
        XCTAssertEqual(part["offlineReplicas"] as? [Int], [3])
        XCTAssertEqual((part["health"] as! [String: Bool])["preferredLeader"], false)
        XCTAssertEqual(part["leaderEpoch"] as? Int, 7)
        let text = try HeadlessReport.render(s, format: .text, now: Self.t0)
        XCTAssertTrue(text.contains("under-replicated 2  under-min-isr 1  offline 1"), text)
        XCTAssertTrue(text.contains("QUORUM · LEADER 2 · EPOCH 9 · HIGH WATERMARK 500"), text)
    }

    func testScreenHeaderCountsAndKillKey() {
        let s = snapshot(brokers: [1, 2], local: (managed: [1, 2, 3], running: [1, 2]))
        let c = ConsoleController(readOnly: false, brokerControl: true, initialPane: .brokers)
        let vt = VirtualTerminal(width: 100, height: 24)
        var canvas = vt.makeCanvas()
        c.render(s, into: &canvas, now: Self.t0)
        vt.present(canvas, theme: c.theme)
        XCTAssertTrue(vt.row(0).contains("URP 2 · <minISR 1 · offline 1"), vt.row(0))
        XCTAssertTrue(vt.row(0).contains("offline 1 │ 127.0.0.1:9091"), vt.row(0))
        XCTAssertTrue(vt.contains("Brokers [4] · quorum leader 2 · epoch 9 · HW 500"), vt.text)
        XCTAssertEqual(c.handle(.char("K"), snapshot: s, now: Self.t0), [])
        XCTAssertEqual(c.handle(.char("y"), snapshot: s, now: Self.t0), [.perform(.broker(.kill, id: 1))])
        _ = c.handle(.char("Q"), snapshot: s, now: Self.t0)
        XCTAssertEqual(c.currentPane, .quorum)
    }

    func testDemoTopicSettings() {
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 1).replicationFactor, 1)
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 1).configs, [:])
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 2).replicationFactor, 2)
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 2).configs, [:])
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 5).replicationFactor, 3)
        XCTAssertEqual(DemoWorkload.topicSettings(brokers: 3).configs, ["min.insync.replicas": "2"])
    }

    func testKRaftNodeConfigs() async {
        let c = LocalCluster(baseDirectory: URL(fileURLWithPath: "/tmp/x"), brokers: [
            .init(id: 1, port: 9101, controllerPort: 9201), .init(id: 2, port: 9102, controllerPort: 9202), .init(id: 3, port: 9103, controllerPort: 9203),
        ])
        let kraft = await c.isKRaft
        XCTAssertTrue(kraft)
        let cfg = await c.config(for: .init(id: 2, port: 9102, controllerPort: 9202))
        for line in ["node.id=2", "process.roles=broker,controller", "controller.quorum.voters=1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203",
                     "controller.listener.names=CONTROLLER", "listeners=PLAINTEXT://127.0.0.1:9102,CONTROLLER://127.0.0.1:9202",
                     "advertised.listeners=PLAINTEXT://127.0.0.1:9102", "inter.broker.listener.name=PLAINTEXT",
                     "default.replication.factor=3", "offsets.topic.replication.factor=3", "min.insync.replicas=2"] {
            XCTAssertTrue(cfg.contains(line + "\n"), "missing \(line) in\n\(cfg)")
        }
        let single = LocalCluster(baseDirectory: URL(fileURLWithPath: "/tmp/x"), brokers: [.init(id: 1, port: 9101)])
        let singleKraft = await single.isKRaft
        XCTAssertFalse(singleKraft)
        let one = await single.config(for: .init(id: 1, port: 9101))
        XCTAssertFalse(one.contains("process.roles"))
        XCTAssertFalse(one.contains("min.insync.replicas"))
        let id = LocalCluster.randomClusterId()
        XCTAssertEqual(id.count, 22)
        XCTAssertFalse(id.hasPrefix("-"))
    }
}
