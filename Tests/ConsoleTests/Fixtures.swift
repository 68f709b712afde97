import Foundation
@testable import Console

/// Fixture cluster for presenter, sampler and screen tests: 3 brokers (broker 3 down in
/// Metadata after the first sample when `brokerDown`), topics `orders` (3 partitions, one
/// under-replicated), `payments` (1 partition) and internal `__consumer_offsets`, groups
/// `billing` (Stable, lagging) and `audit` (Empty).
struct FixtureCluster {
    var brokers = [BrokerEndpoint(id: 1, host: "10.0.0.1", port: 9092, rack: "a"),
                   BrokerEndpoint(id: 2, host: "10.0.0.2", port: 9092, rack: "b"),
                   BrokerEndpoint(id: 3, host: "10.0.0.3", port: 9092, rack: "c")]
    var ends: [TopicPartition: Int64] = [
        TopicPartition("orders", 0): 1000, TopicPartition("orders", 1): 2000, TopicPartition("orders", 2): 500,
        TopicPartition("payments", 0): 42, TopicPartition("__consumer_offsets", 0): 7,
    ]
    var starts: [TopicPartition: Int64] = [TopicPartition("orders", 0): 100]
    var committed: [String: [TopicPartition: Int64]] = [
        "billing": [TopicPartition("orders", 0): 900, TopicPartition("orders", 1): 2000, TopicPartition("orders", 2): 400],
        "audit": [TopicPartition("payments", 0): 40],
    ]
    var orders1ISR: [Int32] = [2]
    /// Broker 3's reported offset lag on orders-1 (DescribeLogDirs).
    var orders1Lag: Int64 = 150
    var metadataError: String?
    var logDirError3: String?
    /// Every section fails, as when the only broker is down (the sampler then skips all
    /// sections after Metadata).
    var unreachable = false
    /// ListPartitionReassignments' answer (nil: the source does not report reassignments).
    var reassignments: [OngoingReassignment]?
    /// More topics in Metadata (no offsets, log dirs or groups of their own).
    var extraTopics: [TopicMetadata] = []

    func metadata() -> ClusterMetadata {
        ClusterMetadata(clusterId: "fixture-cluster", controllerId: 1, brokers: brokers, topics: [
            TopicMetadata(name: "orders", partitions: [
                PartitionMetadata(partition: 0, leader: 1, replicas: [1, 2], isr: [1, 2]),
                PartitionMetadata(partition: 1, leader: 2, replicas: [2, 3], isr: orders1ISR),
                PartitionMetadata(partition: 2, leader: 3, replicas: [3, 1], isr: [3, 1]),
            ]),
            TopicMetadata(name: "payments", partitions: [PartitionMetadata(partition: 0, leader: 1, replicas: [1], isr: [1])]),
            TopicMetadata(name: "__consumer_offsets", isInternal: true, partitions: [PartitionMetadata(partition: 0, leader: 1, replicas: [1], isr: [1])]),
        ] + extraTopics)
    }

    func raw(at t: Date) -> RawSample {
        let md = metadata()
        var offsets: [TopicPartition: PartitionOffsets] = [:]
        for (tp, e) in ends { offsets[tp] = PartitionOffsets(logStart: starts[tp] ?? 0, end: e) }
        var dirs: [Int32: Result<BrokerLogDirs, SourceError>] = [:]
        for b in brokers {
            if b.id == 3, let e = logDirError3 { dirs[3] = .failure(SourceError(e)); continue }
            var bytes: [TopicPartition: Int64] = [:]
            for t in md.topics { for p in t.partitions where p.replicas.contains(b.id) { bytes[TopicPartition(t.name, p.partition)] = 1024 * Int64(p.partition + 1) } }
            dirs[b.id] = .success(BrokerLogDirs(brokerId: b.id, totalBytes: bytes.values.reduce(0, +), partitionBytes: bytes,
                                                replicaLag: b.id == 3 ? [TopicPartition("orders", 1): ReplicaLag(offsets: orders1Lag, timeMs: 12000)] : [:]))
        }
        let groups = [
            GroupDescription(groupId: "billing", state: "Stable", assignor: "range", members: [
                GroupMember(memberId: "m-1", clientId: "billing-1", host: "/10.1.0.5", assignment: [TopicPartition("orders", 0), TopicPartition("orders", 1)]),
                GroupMember(memberId: "m-2", clientId: "billing-2", host: "/10.1.0.6", assignment: [TopicPartition("orders", 2)]),
            ], coordinator: 1),
            GroupDescription(groupId: "audit", state: "Empty", assignor: "", members: [], coordinator: 2),
        ]
        if unreachable {
            let e = SourceError("cannot connect to 10.0.0.1:9092: Connection refused")
            return RawSample(metadata: .failure(e), offsets: .failure(SourceError("skipped: metadata unavailable")), logDirs: [:],
                             groups: .failure(SourceError("skipped: metadata unavailable")),
                             committed: .failure(SourceError("skipped: metadata unavailable")), topicConfigs: nil,
                             startedAt: t.addingTimeInterval(-0.05), finishedAt: t)
        }
        var raw = RawSample(metadata: metadataError.map { .failure(SourceError($0)) } ?? .success(md), offsets: .success(offsets), logDirs: dirs,
                            groups: .success(groups), committed: .success(committed),
                            topicConfigs: .success(["orders": ["retention.ms": "604800000"], "payments": ["retention.ms": "-1"]]),
                            startedAt: t.addingTimeInterval(-0.05), finishedAt: t)
        if let reassignments { raw.reassignments = .success(reassignments) }
        return raw
    }

    /// Runs `samples` samples 2 s apart, the end offsets of orders-0 growing by `growth`
    /// per sample and billing's commit on orders-0 by `consumed`.
    static func snapshot(samples: Int = 3, growth: Int64 = 100, consumed: Int64 = 50, start: Date = Date(timeIntervalSince1970: 1_800_000_000),
                         configure: (inout FixtureCluster) -> Void = { _ in }) -> (ClusterSnapshot, Date) {
        var f = FixtureCluster()
        configure(&f)
        var state = SamplerState()
        var snap = ClusterSnapshot.empty(bootstrap: "fixture:9092")
        var t = start
        for i in 0..<samples {
            t = start.addingTimeInterval(Double(i) * 2)
            snap = state.ingest(f.raw(at: t), bootstrap: "fixture:9092")
            f.ends[TopicPartition("orders", 0)]! += growth
            f.committed["billing"]![TopicPartition("orders", 0)]! += consumed
        }
        return (snap, t)
    }
}
